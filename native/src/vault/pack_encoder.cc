// Encoding packs on the scan's compression threads; see pack_encoder.h.
#include "vault/pack_encoder.h"

#include <algorithm>
#include <cstring>

namespace litevault {

PackEncoder::~PackEncoder() { shutdown(); }

void PackEncoder::shutdown() {
  clear();
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  compressors_.clear();
  std::vector<std::unique_ptr<ByteBuffer>>().swap(free_);
  std::vector<std::unique_ptr<ByteBuffer>>().swap(outputs_);
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

// A buffer of at least `bytes` from `list` (guarded by mutex_), or a new one. A smaller one
// (an earlier page size's) is dropped.
std::unique_ptr<ByteBuffer> PackEncoder::take(std::vector<std::unique_ptr<ByteBuffer>>* list, size_t bytes) {
  while (!list->empty()) {
    std::unique_ptr<ByteBuffer> buffer = std::move(list->back());
    list->pop_back();
    if (buffer->capacity() >= bytes) {
      buffer->setSize(0);
      return buffer;
    }
  }
  return nullptr;
}

std::unique_ptr<ByteBuffer> PackEncoder::takeBuffer(size_t bytes) {
  std::unique_ptr<ByteBuffer> buffer;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    buffer = take(&free_, bytes);
  }
  return buffer ? std::move(buffer) : std::make_unique<ByteBuffer>(bytes);
}

void PackEncoder::recycle(std::unique_ptr<ByteBuffer> pack) {
  std::lock_guard<std::mutex> guard(mutex_);
  outputs_.push_back(std::move(pack));
}

// The pack object: header, payload (one zstd frame, or the raw images when zstd cannot shrink
// them), checksum; compressed straight into the output buffer.
void PackEncoder::encode(Compressor* compressor, Job* job) {
  const size_t n = size_t(job->slots) * job->pageSize;
  const uint8_t* images = job->images->data();
  const size_t room = compress_ ? std::max(n, Compressor::bound(n)) : n;
  const size_t bytes = kPackHeaderSize + room + kVaultChecksumSize;
  std::unique_ptr<ByteBuffer> pack;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    pack = take(&outputs_, bytes);
  }
  if (!pack) pack = std::make_unique<ByteBuffer>(bytes);
  PackHeader header;
  header.pageSize = job->pageSize;
  header.slotCount = job->slots;
  header.compression = PackCompression::kNone;
  header.payloadLength = n;
  if (compress_) {
    size_t written = 0;
    Status status = compressor->compress(images, n, pack->data() + kPackHeaderSize, room, &written);
    if (!status.isOk()) {
      job->result.status = status;
      recycle(std::move(pack));
      return;
    }
    if (written < n) {
      header.compression = PackCompression::kZstd;
      header.payloadLength = written;
    }
  }
  if (header.compression == PackCompression::kNone) std::memcpy(pack->data() + kPackHeaderSize, images, n);
  encodePackHeader(header, pack->data());
  pack->setSize(kPackHeaderSize + header.payloadLength);
  const Hash128 sum = hash128(pack->data(), pack->size());
  pack->append(sum.bytes, sizeof(sum.bytes));
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
    encode(compressor, job);
    lock.lock();
    free_.push_back(std::move(job->images));  // the pack is encoded: its images are not needed
    job->done = true;
    done_.notify_all();
  }
}

void PackEncoder::submit(std::unique_ptr<ByteBuffer> images, uint32_t slots, uint32_t pageSize) {
  auto job = std::make_unique<Job>();
  job->images = std::move(images);
  job->slots = slots;
  job->pageSize = pageSize;
  if (threads_.empty()) {
    encode(&inline_, job.get());
    {
      std::lock_guard<std::mutex> guard(mutex_);
      free_.push_back(std::move(job->images));
    }
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
  return true;
}

void PackEncoder::clear() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] {
    for (auto& j : jobs_) if (j->running && !j->done) return false;
    return true;
  });
  for (auto& j : jobs_) {
    if (j->images) free_.push_back(std::move(j->images));
    if (j->result.pack) outputs_.push_back(std::move(j->result.pack));
  }
  jobs_.clear();
}

}  // namespace litevault
