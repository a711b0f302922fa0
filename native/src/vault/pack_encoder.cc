// Encoding packs on the scan's compression threads; see pack_encoder.h.
#include "vault/pack_encoder.h"

#include <cstring>

namespace litevault {

PackEncoder::~PackEncoder() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_) t.join();
}

Status PackEncoder::init(bool compress, int level, int threads) {
  compress_ = compress;
  if (!compress) threads = 0;  // copying raw images needs no thread
  if (compress) LV_RETURN_IF_ERROR(inline_.init(level));
  for (int i = 0; i < threads; i++) {
    auto compressor = std::make_unique<Compressor>();
    LV_RETURN_IF_ERROR(compressor->init(level));
    compressors_.push_back(std::move(compressor));
  }
  for (auto& compressor : compressors_) {
    Compressor* c = compressor.get();
    threads_.emplace_back([this, c] { threadMain(c); });
  }
  return Status::ok();
}

std::unique_ptr<std::vector<uint8_t>> PackEncoder::takeBuffer(size_t bytes) {
  std::unique_ptr<std::vector<uint8_t>> buffer;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!free_.empty()) {
      buffer = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!buffer) buffer = std::make_unique<std::vector<uint8_t>>();
  if (buffer->size() < bytes) buffer->resize(bytes);
  return buffer;
}

void PackEncoder::encode(bool compress, Compressor* compressor, Job* job) {
  const size_t n = size_t(job->slots) * job->pageSize;
  const uint8_t* images = job->images->data();
  auto pack = std::make_unique<std::vector<uint8_t>>();
  PackHeader header;
  header.pageSize = job->pageSize;
  header.slotCount = job->slots;
  header.compression = PackCompression::kNone;
  uint8_t zeros[kPackHeaderSize] = {};
  if (compress) {
    pack->insert(pack->end(), zeros, zeros + kPackHeaderSize);
    Status status = compressor->compress(images, n, pack.get());
    if (!status.isOk()) {
      job->result.status = status;
      return;
    }
    if (pack->size() - kPackHeaderSize < n) {
      header.compression = PackCompression::kZstd;
    } else {
      pack->clear();  // zstd could not shrink it: stored raw
    }
  }
  if (header.compression == PackCompression::kNone) {
    pack->reserve(kPackHeaderSize + n + kVaultChecksumSize);
    pack->insert(pack->end(), zeros, zeros + kPackHeaderSize);
    pack->insert(pack->end(), images, images + n);
  }
  header.payloadLength = pack->size() - kPackHeaderSize;
  encodePackHeader(header, pack->data());
  const Hash128 sum = hash128(pack->data(), pack->size());
  pack->insert(pack->end(), sum.bytes, sum.bytes + sizeof(sum.bytes));
  job->result.key = sum;
  job->result.slots = job->slots;
  job->result.pack = std::move(pack);
}

void PackEncoder::threadMain(Compressor* compressor) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    Job* job = nullptr;
    for (auto& j : jobs_) {
      if (!j->running && !j->done) {
        job = j.get();
        break;
      }
    }
    if (job == nullptr) {
      if (stopping_) return;
      work_.wait(lock);
      continue;
    }
    job->running = true;
    lock.unlock();
    encode(compress_, compressor, job);
    lock.lock();
    job->done = true;
    done_.notify_all();
  }
}

void PackEncoder::submit(std::unique_ptr<std::vector<uint8_t>> images, uint32_t slots, uint32_t pageSize) {
  auto job = std::make_unique<Job>();
  job->images = std::move(images);
  job->slots = slots;
  job->pageSize = pageSize;
  if (threads_.empty()) {
    encode(compress_, &inline_, job.get());
    job->done = true;
    jobs_.push_back(std::move(job));
    return;
  }
  {
    std::lock_guard<std::mutex> guard(mutex_);
    jobs_.push_back(std::move(job));
  }
  work_.notify_one();
}

bool PackEncoder::takeOldest(bool wait, Encoded* out) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (jobs_.empty()) return false;
  Job* oldest = jobs_.front().get();
  if (!oldest->done) {
    if (!wait) return false;
    done_.wait(lock, [oldest] { return oldest->done; });
  }
  std::unique_ptr<Job> job = std::move(jobs_.front());
  jobs_.pop_front();
  *out = std::move(job->result);
  free_.push_back(std::move(job->images));
  return true;
}

void PackEncoder::clear() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] {
    for (auto& j : jobs_) if (j->running && !j->done) return false;
    return true;
  });
  for (auto& j : jobs_) free_.push_back(std::move(j->images));
  jobs_.clear();
}

}  // namespace litevault
