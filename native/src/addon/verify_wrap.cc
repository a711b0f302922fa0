// binding.Verify; see verify_wrap.h.
#include "addon/verify_wrap.h"

#include "addon/database_wrap.h"
#include "addon/errors.h"
#include "addon/promise_worker.h"

namespace litevault {
namespace {

Napi::Object reportObject(Napi::Env env, const StructureCheck::Report& report);

class ReportWorker : public PromiseWorker {
 public:
  ReportWorker(Napi::Env env, const char* name, std::function<Status(StructureCheck::Report*)> run)
      : PromiseWorker(env, name), run_(std::move(run)) {}

 protected:
  Status Run() override { return run_(&report_); }
  Napi::Value Result(Napi::Env env) override { return reportObject(env, report_); }

 private:
  std::function<Status(StructureCheck::Report*)> run_;
  StructureCheck::Report report_;
};

Napi::Object reportObject(Napi::Env env, const StructureCheck::Report& report) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", report.ok());
  o.Set("findingCount", static_cast<double>(report.findingCount));
  Napi::Array findings = Napi::Array::New(env, report.findings.size());
  for (size_t i = 0; i < report.findings.size(); i++) {
    const StructureCheck::Finding& f = report.findings[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("page", f.page);
    item.Set("structure", f.structure);
    item.Set("message", f.message);
    findings.Set(static_cast<uint32_t>(i), item);
  }
  o.Set("findings", findings);
  o.Set("pageSize", report.pageSize);
  o.Set("pageCount", report.pageCount);
  o.Set("cksumvfs", report.cksumvfs);
  return o;
}

}  // namespace

Napi::Value startReportWorker(Napi::Env env, const char* name, Napi::Object handle,
                              std::function<Status(StructureCheck::Report*)> run, bool background) {
  auto* worker = new ReportWorker(env, name, std::move(run));
  return worker->StartFor(handle, background);
}

bool parseCheckOptions(Napi::Env env, const Napi::Value& maxFindings, const Napi::Value& cksumvfs,
                       StructureCheck::Options* out) {
  const double max = maxFindings.IsNumber() ? maxFindings.As<Napi::Number>().DoubleValue() : -1;
  const std::string mode = cksumvfs.IsString() ? cksumvfs.As<Napi::String>().Utf8Value() : "";
  if (!(max >= 1 && max <= 1e6) || (mode != "auto" && mode != "on" && mode != "off")) {
    throwMisuse(env, "verify options: maxFindings must be 1..1000000 and cksumvfs 'auto', 'on' or 'off'");
    return false;
  }
  out->maxFindings = static_cast<uint32_t>(max);
  out->cksumvfs = mode == "on" ? StructureCheck::Cksumvfs::kOn
                  : mode == "off" ? StructureCheck::Cksumvfs::kOff
                                  : StructureCheck::Cksumvfs::kAuto;
  return true;
}

Napi::Function VerifyWrap::Define(Napi::Env env) {
  return DefineClass(env, "Verify",
                     {
                         InstanceMethod<&VerifyWrap::Run>("run"),
                         InstanceMethod<&VerifyWrap::Cancel>("cancel"),
                         InstanceAccessor<&VerifyWrap::PagesRead>("pagesRead"),
                         InstanceAccessor<&VerifyWrap::PageCount>("pageCount"),
                     });
}

VerifyWrap::VerifyWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VerifyWrap>(info) {
  Napi::Env env = info.Env();
  DatabaseWrap* database = info.Length() == 3 ? DatabaseWrap::Unwrap(info[0]) : nullptr;
  if (database == nullptr) {
    throwMisuse(env, "new Verify(database, maxFindings, cksumvfs): database must be an open Database handle");
    return;
  }
  StructureCheck::Options options;
  if (!parseCheckOptions(env, info[1], info[2], &options)) return;
  if (database->connection()->closed.load()) {
    throwMisuse(env, "new Verify(): the database handle is closed");
    return;
  }
  verify_ = std::make_shared<DatabaseVerify>(database->connection(), options);
  env.GetInstanceData<AddonData>()->handles.add(verify_);
}

Napi::Value VerifyWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (started_) return rejectMisuse(env, "verify.run() may be called once");
  started_ = true;
  std::shared_ptr<DatabaseVerify> verify = verify_;
  return startReportWorker(env, "litevault:verify", info.This().As<Napi::Object>(),
                           [verify](StructureCheck::Report* out) { return verify->run(out); });
}

Napi::Value VerifyWrap::Cancel(const Napi::CallbackInfo& info) {
  verify_->cancel();
  return info.Env().Undefined();
}

Napi::Value VerifyWrap::PagesRead(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), verify_->pagesRead());
}

Napi::Value VerifyWrap::PageCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), verify_->pageCount());
}

}  // namespace litevault
