#include "datapath/grace.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace aigw::dp {

bool wait_for_program_runs() { return ::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0; }

}  // namespace aigw::dp
