// Moving a finished new backup destination into place; see publish.h for the steps.
#include "os/publish.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstdio>

#include "os/db_lock.h"
#include "os/fault.h"
#include "os/file.h"

namespace litevault {
namespace {

// The process umask, read without changing it (umask(2) would race with other threads); 022
// where /proc does not say (kernels before 4.7).
mode_t currentUmask() {
  FILE* status = fopen("/proc/self/status", "re");
  mode_t mask = 022;
  if (status == nullptr) return mask;
  char line[256];
  while (fgets(line, sizeof(line), status) != nullptr) {
    unsigned int value = 0;
    if (sscanf(line, "Umask: %o", &value) == 1) {
      mask = static_cast<mode_t>(value);
      break;
    }
  }
  fclose(status);
  return mask;
}

Status appeared(const std::string& to) {
  return Status::error(Code::kCantOpen, "cannot create '" + to + "': another database appeared there while the backup was written", EEXIST);
}

// Steps 3 (companions) and 4 (the rename), with `to` held empty under RESERVED by the caller.
Status claimed(const std::string& from, const std::string& to) {
  PathInfo journal, wal;
  LV_RETURN_IF_ERROR(statPath(to + "-journal", &journal));
  LV_RETURN_IF_ERROR(statPath(to + "-wal", &wal));
  if (journal.exists || wal.exists) {
    LV_RETURN_IF_ERROR(removeFile(to + "-journal"));
    LV_RETURN_IF_ERROR(removeFile(to + "-wal"));
    LV_RETURN_IF_ERROR(syncDirectoryOf(to));  // the deletes are durable before the new file is there
  }
  int injected = 0;
  switch (fault::next(&injected)) {  // the rename is a disk-changing operation like the others
    case fault::Verdict::kFail:
      return Status::fromErrno(Code::kCantOpen, "cannot rename '" + from + "' to '" + to + "'", injected);
    case fault::Verdict::kSkip:
      return Status::ok();  // as after a crash at this instant: nothing more happens
    case fault::Verdict::kProceed:
      break;
  }
  if (rename(from.c_str(), to.c_str()) != 0) {
    return Status::fromErrno(Code::kCantOpen, "cannot rename '" + from + "' to '" + to + "'", errno);
  }
  return Status::ok();
}

}  // namespace

Status publishPrivateFile(const std::string& from, const std::string& to) {
  if (chmod(from.c_str(), 0644 & ~currentUmask()) != 0) {
    return Status::fromErrno(Code::kCantOpen, "cannot set the mode of '" + from + "'", errno);
  }
  PathInfo before;
  LV_RETURN_IF_ERROR(statPath(to, &before));
  File* placeholder = nullptr;
  LV_RETURN_IF_ERROR(openFile(to, OpenIntent::kCreate, &placeholder));
  FileRef placeholderRef(placeholder);
  Status status;
  {
    DbLock lock(*placeholder);  // declared after the reference: unlocked before it is released
    uint64_t size = 0;
    if (!lock.lock(DbLockLevel::kShared).isOk() || !lock.lock(DbLockLevel::kReserved).isOk()) return appeared(to);
    LV_RETURN_IF_ERROR(placeholder->size(&size));
    if (size != 0) return appeared(to);
    status = claimed(from, to);
    // A placeholder this call created goes again when the publish fails (still under RESERVED,
    // so nobody wrote into it): a failed publish leaves the path as it found it.
    if (!status.isOk() && !before.exists) {
      if (removeFile(to).isOk()) syncDirectoryOf(to);
    }
  }
  LV_RETURN_IF_ERROR(status);
  return syncDirectoryOf(to);
}

}  // namespace litevault
