# Smooth weighted round robin on a tcp listener with one worker: the exact order nginx's
# algorithm gives, seen by a client through each backend's name line, and weight 0 never picked.
import socket
import unittest

from harness import NamedBackend, RinglbTestCase, free_port, l4_config, recv_line


class RoundRobinTest(RinglbTestCase):
    def names(self, *names):
        return {name: self.backend(NamedBackend, name) for name in names}

    def picks(self, port: int, count: int) -> list[str]:
        """Opens `count` connections one after another and returns the backend name of each."""
        seen = []
        for _ in range(count):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                seen.append(recv_line(sock, timeout=5).decode().strip())
        return seen

    def test_weights_5_1_1_give_the_smooth_order(self):
        backends = self.names("a", "b", "c")
        port = free_port()
        weighted = [(backends["a"].port, 5), (backends["b"].port, 1), (backends["c"].port, 1)]
        self.start_ringlb(l4_config(port, weighted), port)
        self.assertEqual(self.picks(port, 14), "a a b a c a a a a b a c a a".split())
        counts = [backends[name].connections for name in "abc"]
        self.assertEqual(counts, [10, 2, 2])

    def test_weight_zero_backend_is_never_picked(self):
        backends = self.names("a", "b", "c")
        port = free_port()
        weighted = [(backends["a"].port, 1), (backends["b"].port, 0), (backends["c"].port, 1)]
        self.start_ringlb(l4_config(port, weighted), port)
        self.assertEqual(self.picks(port, 12), ["a", "c"] * 6)
        self.assertEqual(backends["b"].connections, 0)


if __name__ == "__main__":
    unittest.main()
