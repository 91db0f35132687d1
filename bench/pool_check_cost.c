// What checking a pooled upstream connection costs (issue 15): one recv(MSG_PEEK|MSG_DONTWAIT)
// on an idle loopback TCP connection, either as an extra io_uring SQE riding along a submission
// the worker makes anyway (what HttpSession::check_pooled_connection does) or as a syscall of its
// own. Prints CPU ns per loop turn for: a NOP alone, NOP + ring peek, NOP + peek syscall; the
// differences are the two costs. Standalone, like valgrind_uring_shim.c:
//   cc -O2 -o /tmp/pool_check_cost bench/pool_check_cost.c -luring && /tmp/pool_check_cost
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  if (bind(listener, (struct sockaddr*)&address, length) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr*)&address, &length) != 0) {
    perror("listen");
    return 1;
  }
  int pooled = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(pooled, (struct sockaddr*)&address, sizeof address) != 0) {
    perror("connect");
    return 1;
  }
  int backend = accept(listener, NULL, NULL);
  struct io_uring ring;
  struct io_uring_params params = {.flags = IORING_SETUP_SINGLE_ISSUER |
                                            IORING_SETUP_DEFER_TASKRUN};
  if (io_uring_queue_init_params(64, &ring, &params) < 0) {
    fprintf(stderr, "io_uring_queue_init_params failed\n");
    return 1;
  }
  static const char* const kNames[] = {"NOP alone", "NOP + ring peek", "NOP + peek syscall"};
  const int turns = 500000;
  char byte;
  for (int round = 0; round < 3; ++round) {
    for (int variant = 0; variant < 3; ++variant) {
      const double start = cpu_ns();
      for (int i = 0; i < turns; ++i) {
        io_uring_prep_nop(io_uring_get_sqe(&ring));
        if (variant == 1) {
          io_uring_prep_recv(io_uring_get_sqe(&ring), pooled, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        } else if (variant == 2) {
          recv(pooled, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        }
        io_uring_submit_and_wait(&ring, variant == 1 ? 2 : 1);
        struct io_uring_cqe* cqe;
        unsigned head;
        unsigned seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) { ++seen; }
        io_uring_cq_advance(&ring, seen);
      }
      printf("round %d %-20s %6.0f ns CPU per loop turn\n", round + 1, kNames[variant],
             (cpu_ns() - start) / turns);
    }
  }
  io_uring_queue_exit(&ring);
  close(backend);
  close(pooled);
  close(listener);
  return 0;
}
