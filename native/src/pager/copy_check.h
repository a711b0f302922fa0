// CopyCheck: the structure check (verify/structure_check.h) a copy runs over the pages it reads
// from a source (Backup, VaultScan: "verify while copying"). Page 1 starts a new check (a copy
// that restarts from page 1 checks the new pass), every page goes in as the source has it
// (before the copy sets byte 28), and after the last page finish() runs the check's second
// phase on the source, in the copy's read transaction, so both phases see one snapshot. A
// source that fails it is SQLITE_CORRUPT naming the first bad page. The check is dropped only
// by done(): a last step retried after BUSY checks again.
//
// Thread safety: none; its owner's mutex (the copy's) serializes every call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "pager/pager.h"
#include "verify/structure_check.h"

namespace litevault {

class CopyCheck {
 public:
  // `image`: page `page` of a source of `pageCount` pages, as read.
  void add(uint32_t page, const uint8_t* image, uint32_t pageSize, uint32_t pageCount) {
    if (page == 1) check_.reset(new StructureCheck(image, pageSize, pageCount, StructureCheck::Options()));
    if (check_) check_->addPage(page, image);
  }
  // After the copy's last page; `what` names the copy in the internal error.
  Status finish(Pager& src, const char* what) {
    if (src.pageCount() == 0) return Status::ok();
    if (!check_ || check_->pageCount() != src.pageCount()) {
      return Status::error(Code::kInternal, std::string(what) + " verify: the check did not see this copy's pages");
    }
    StructureCheck::Report report;
    LV_RETURN_IF_ERROR(check_->finish([&src](uint32_t page, uint8_t* out) { return src.readPages(page, 1, out); }, &report));
    if (!report.ok()) return StructureCheck::corruption(report, "source database '" + src.path() + "'");
    return Status::ok();
  }
  // The copy is complete: the check's memory goes.
  void done() { check_.reset(); }

 private:
  std::unique_ptr<StructureCheck> check_;
};

}  // namespace litevault
