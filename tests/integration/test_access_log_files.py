# The access log file is one ringlb opens without ever waiting: a FIFO, a directory or a missing
# directory named as [log] access is refused by `--check`, at start and at reload with the
# position of the setting, and a SIGUSR1 reopen that finds a FIFO keeps the worker serving.
import os
import signal
import subprocess
import unittest

from harness import free_port, ringlb_bin, run_ringlb, wait_until
from http_harness import HttpBackend, HttpTestCase, get, http_config

START_LIMIT = 5.0  # seconds a refused start may take; a blocked open never ends


class AccessLogFileTest(HttpTestCase):
    def config_for(self, access_log: str) -> tuple[str, str, str]:
        """(config text, its path, "PATH:LINE:COL" of the access setting)."""
        self.app = getattr(self, "app", None) or self.backend(HttpBackend, "app")
        self.port = getattr(self, "port", None) or free_port()
        text = http_config(self.port, [self.app.port], access_log=access_log)
        line = text.splitlines().index(f'access = "{access_log}"') + 1
        path = self.write_config(text)
        return text, path, f"{path}:{line}:10:"

    def fifo(self, name: str = "access.fifo") -> str:
        path = os.path.join(self.tmpdir, name)
        os.mkfifo(path)
        return path

    def assertStartRefused(self, access_log: str, words: str):
        """`--check` and a start both refuse `access_log`, naming the setting's position."""
        _, path, position = self.config_for(access_log)
        checked = run_ringlb("--check", "-c", path)
        self.assertNotEqual(checked.returncode, 0, checked.stdout)
        self.assertIn(position, checked.stderr)
        self.assertIn(words, checked.stderr)
        proc = subprocess.Popen([ringlb_bin(), "-c", path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                errors="replace")
        try:
            _, stderr = proc.communicate(timeout=START_LIMIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail(f"ringlb still running {START_LIMIT}s after a start on {access_log}")
        self.assertNotEqual(proc.returncode, 0, stderr)
        self.assertIn(position, stderr)
        self.assertIn(words, stderr)

    def test_a_fifo_is_refused_by_check_and_at_start(self):
        self.assertStartRefused(self.fifo(), "it is a FIFO, not a regular file")

    def test_a_directory_is_refused_by_check_and_at_start(self):
        self.assertStartRefused(self.tmpdir, "it is a directory, not a regular file")

    def test_a_missing_directory_is_left_to_the_start_which_refuses_it_by_position(self):
        # --check reads the file, not the machine: the packaged config names /var/log/ringlb,
        # which only the installed package creates.
        access_log = os.path.join(self.tmpdir, "no-dir", "access.log")
        _, path, position = self.config_for(access_log)
        checked = run_ringlb("--check", "-c", path)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        proc = subprocess.run([ringlb_bin(), "-c", path], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=START_LIMIT)
        self.assertNotEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(position, proc.stderr)
        self.assertIn("No such file or directory", proc.stderr)

    def test_a_missing_file_is_fine_for_check_and_is_not_created_by_it(self):
        access_log = os.path.join(self.tmpdir, "new.log")
        _, path, _ = self.config_for(access_log)
        checked = run_ringlb("--check", "-c", path)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertFalse(os.path.exists(access_log), "--check created the access log")

    def test_a_reload_to_a_fifo_is_refused_by_position_and_serving_goes_on(self):
        before = os.path.join(self.tmpdir, "before.log")
        text, _, _ = self.config_for(before)
        self.start_ringlb(text, self.port)
        self.assertEqual(get(self.port, "/before").status, 200)
        fifo = self.fifo()
        _, _, position = self.config_for(fifo)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("reload failed", start=mark)
        line = self.ringlb.wait_for_log(position, start=mark, timeout=2.0)
        self.assertIn("FIFO", line)
        self.assertEqual(get(self.port, "/after", timeout=3.0).status, 200)
        self.assertTrue(wait_until(lambda: "/after" in open(before).read(), 3.0),
                        "the running access log stopped after a refused reload")

    def test_usr1_on_a_path_that_became_a_fifo_keeps_the_worker_serving(self):
        access_log = os.path.join(self.tmpdir, "access.log")
        text, _, _ = self.config_for(access_log)
        self.start_ringlb(text, self.port)
        self.assertEqual(get(self.port, "/before").status, 200)
        os.rename(access_log, access_log + ".1")
        os.mkfifo(access_log)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGUSR1)
        line = self.ringlb.wait_for_log("cannot open access log", start=mark)
        self.assertIn("FIFO", line)
        for i in range(3):
            self.assertEqual(get(self.port, f"/after/{i}", timeout=3.0).status, 200)
        self.assertTrue(wait_until(lambda: "/after/2" in open(access_log + ".1").read(), 3.0),
                        "lines after the refused reopen did not go on to the old file")


if __name__ == "__main__":
    unittest.main()
