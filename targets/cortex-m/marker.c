// See marker.h. `noipa` (stronger than noinline) stops GCC from analysing the empty body and
// deleting or moving calls to it as a pure function; the asm statement with a memory clobber
// makes it a compiler barrier for memory as well. Its whole body is one `bx lr`.
#include "marker.h"

__attribute__((noipa, used)) void tinyq_marker(void) { __asm__ volatile("" ::: "memory"); }
