// Used by bench/levers only, LD_PRELOADed into ringlb under callgrind. valgrind 3.19 keeps its
// big lock while a thread blocks in io_uring_enter, so a worker waiting for completions stalls
// every other thread (and a DEFER_TASKRUN ring cannot be waited for with poll(2)). This stand-in
// submits, then looks for completions without blocking and naps in nanosleep(2), which valgrind
// does treat as blocking. bench/levers subtracts its instructions from the count.
#include <liburing.h>
#include <time.h>

int io_uring_submit_and_wait_timeout(struct io_uring* ring, struct io_uring_cqe** cqe_ptr,
                                     unsigned wait_nr, struct __kernel_timespec* ts,
                                     sigset_t* sigmask) {
  (void)wait_nr;
  (void)sigmask;
  const int submitted = io_uring_submit(ring);
  const long budget_us = ts != 0 ? ts->tv_sec * 1000000 + ts->tv_nsec / 1000 : 1000000;
  const struct timespec nap = {0, 20000};
  for (long waited_us = 0; waited_us < budget_us; waited_us += 20) {
    io_uring_get_events(ring);
    if (io_uring_cq_ready(ring) > 0) break;
    nanosleep(&nap, 0);
  }
  *cqe_ptr = 0;
  return submitted;
}
