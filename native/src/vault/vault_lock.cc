// The per-name backup lock of a directory vault; see vault_lock.h.
#include "vault/vault_lock.h"

#include "os/ofd_lock.h"

namespace litevault {

Status VaultLock::acquire(const std::string& path, std::unique_ptr<VaultLock>* out) {
  out->reset();
  std::unique_ptr<File> file;
  LV_RETURN_IF_ERROR(openLockFile(path, &file));
  Status status = setLock(*file, LockType::kWrite, 0, 0);  // length 0: the whole file, however long
  if (isBusy(status)) {
    // The name is the lock file's, locks/<name>.lock.
    std::string name = path.substr(path.find_last_of('/') + 1);
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".lock") == 0) name.resize(name.size() - 5);
    return Status::error(Code::kBackupInProgress, "a backup of '" + name + "' is in progress (lock " + path + " held)");
  }
  LV_RETURN_IF_ERROR(status);
  out->reset(new VaultLock(std::move(file)));
  return Status::ok();
}

Status VaultLock::release() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (!file_) return Status::ok();
  Status status = setLock(*file_, LockType::kUnlock, 0, 0);
  file_.reset();  // closing the description drops the lock even if the unlock failed
  return status;
}

bool VaultLock::held() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return file_ != nullptr;
}

}  // namespace litevault
