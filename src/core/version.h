#pragma once

namespace ldmg {
// `git describe --always --dirty` of the source tree at configure time.
const char* version_string();
}  // namespace ldmg
