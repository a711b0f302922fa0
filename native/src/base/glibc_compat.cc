// The glibc baseline of the shipped binary. One prebuild (prebuilds/linux-x64) must load wherever
// Node 18/20 run, i.e. on glibc 2.28, but it is built on a newer glibc whose headers, and whose
// static libstdc++/libgcc (linked in, see native/CMakeLists.txt), refer to symbol versions added
// after 2.28. With LITEVAULT_GLIBC_COMPAT (set by native/CMakeLists.txt on x86-64 glibc, with
// -Wl,--wrap=<name> for each __wrap_<name> below), the linker sends every reference to <name> to
// __wrap_<name> here, which does the same thing through what glibc 2.28 already exports, so the
// binary imports no GLIBC_ version above 2.28 (test/binary-baseline.test.ts reads the imports):
// - pthread_mutex_trylock, pthread_once, __pthread_key_create, and pthread_create,
//   pthread_join, pthread_detach, pthread_key_create, pthread_key_delete, pthread_getspecific,
//   pthread_setspecific (std::thread and its thread-local state: the vault scan's compression
//   threads) and pthread_rwlock_rdlock,
//   _wrlock, _unlock (std::shared_mutex: a vault restore's file lifetime): glibc 2.34 moved
//   libpthread into libc and gave them new versions; the GLIBC_2.2.5 version is the same function (same address
//   in libc.so.6; before 2.34 it lives in libpthread.so.0, which Node itself loads).
// - stat64, fstat64, lstat64: exported only since 2.33; before, <sys/stat.h> turned them into
//   __xstat64/__fxstat64/__lxstat64(_STAT_VER, ...), which every x86-64 glibc still exports for
//   binaries built that way. _STAT_VER was 1 (_STAT_VER_LINUX) on x86-64; 2.33's headers dropped
//   the macro, so the value is spelled out.
// - arc4random (2.36; libstdc++'s std::random_device): the same 32 random bits from getrandom
//   (2.25), falling back to /dev/urandom; like glibc's arc4random, it aborts if neither works.
// - _dl_find_object (2.35; libgcc's unwinder looks up an object's unwind table with it): the same
//   answer from dl_iterate_phdr, which is how libgcc did it before 2.35. dlfo_link_map is left
//   null: libgcc reads only dlfo_eh_frame.
// - __libc_single_threaded (2.32, a variable): libstdc++'s headers (shared_ptr counts) read it
//   to skip atomic instructions in a process with one thread. The local definition below is
//   always 0, "maybe multi-threaded", so every count stays atomic: what the addon needs anyway,
//   since its workers run on libuv's threads.
// Without LITEVAULT_GLIBC_COMPAT (binding.gyp's from-source build, which runs on the machine that
// loads it; sanitizer builds) this file compiles to nothing.
// Thread safety: each wrapper is as thread-safe as the glibc function it stands for; any thread.
#if defined(LITEVAULT_GLIBC_COMPAT)

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#if !defined(__GLIBC__) || !defined(__x86_64__)
#error "LITEVAULT_GLIBC_COMPAT binds x86-64 glibc symbol versions; build without it elsewhere"
#endif

#define LITEVAULT_HIDDEN __attribute__((visibility("hidden")))

extern "C" {

// References to these names become references to the GLIBC_2.2.5 versions (for an undefined
// symbol, .symver renames the reference; --wrap does not apply to the new name).
int litevault_pthread_mutex_trylock_2_2_5(pthread_mutex_t* mutex);
int litevault_pthread_once_2_2_5(pthread_once_t* once, void (*init)(void));
int litevault_pthread_key_create_2_2_5(pthread_key_t* key, void (*destructor)(void*));
__asm__(".symver litevault_pthread_mutex_trylock_2_2_5, pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_once_2_2_5, pthread_once@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_key_create_2_2_5, __pthread_key_create@GLIBC_2.2.5");
int litevault_pthread_create_2_2_5(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg);
int litevault_pthread_join_2_2_5(pthread_t thread, void** result);
int litevault_pthread_rwlock_rdlock_2_2_5(pthread_rwlock_t* lock);
int litevault_pthread_rwlock_wrlock_2_2_5(pthread_rwlock_t* lock);
int litevault_pthread_rwlock_unlock_2_2_5(pthread_rwlock_t* lock);
__asm__(".symver litevault_pthread_create_2_2_5, pthread_create@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_join_2_2_5, pthread_join@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_rwlock_rdlock_2_2_5, pthread_rwlock_rdlock@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_rwlock_wrlock_2_2_5, pthread_rwlock_wrlock@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_rwlock_unlock_2_2_5, pthread_rwlock_unlock@GLIBC_2.2.5");
int litevault_pthread_detach_2_2_5(pthread_t thread);
int litevault_pthread_key_create2_2_2_5(pthread_key_t* key, void (*destructor)(void*));
int litevault_pthread_key_delete_2_2_5(pthread_key_t key);
void* litevault_pthread_getspecific_2_2_5(pthread_key_t key);
int litevault_pthread_setspecific_2_2_5(pthread_key_t key, const void* value);
__asm__(".symver litevault_pthread_detach_2_2_5, pthread_detach@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_key_create2_2_2_5, pthread_key_create@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_key_delete_2_2_5, pthread_key_delete@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_getspecific_2_2_5, pthread_getspecific@GLIBC_2.2.5");
__asm__(".symver litevault_pthread_setspecific_2_2_5, pthread_setspecific@GLIBC_2.2.5");

int __xstat64(int version, const char* path, struct stat64* buf);
int __fxstat64(int version, int fd, struct stat64* buf);
int __lxstat64(int version, const char* path, struct stat64* buf);

LITEVAULT_HIDDEN int __wrap_pthread_mutex_trylock(pthread_mutex_t* mutex) {
  return litevault_pthread_mutex_trylock_2_2_5(mutex);
}

LITEVAULT_HIDDEN int __wrap_pthread_once(pthread_once_t* once, void (*init)(void)) {
  return litevault_pthread_once_2_2_5(once, init);
}

LITEVAULT_HIDDEN int __wrap___pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) {
  return litevault_pthread_key_create_2_2_5(key, destructor);
}

LITEVAULT_HIDDEN int __wrap_pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  return litevault_pthread_create_2_2_5(thread, attr, start, arg);
}
LITEVAULT_HIDDEN int __wrap_pthread_join(pthread_t thread, void** result) { return litevault_pthread_join_2_2_5(thread, result); }
LITEVAULT_HIDDEN int __wrap_pthread_rwlock_rdlock(pthread_rwlock_t* lock) { return litevault_pthread_rwlock_rdlock_2_2_5(lock); }
LITEVAULT_HIDDEN int __wrap_pthread_rwlock_wrlock(pthread_rwlock_t* lock) { return litevault_pthread_rwlock_wrlock_2_2_5(lock); }
LITEVAULT_HIDDEN int __wrap_pthread_rwlock_unlock(pthread_rwlock_t* lock) { return litevault_pthread_rwlock_unlock_2_2_5(lock); }

LITEVAULT_HIDDEN int __wrap_pthread_detach(pthread_t thread) { return litevault_pthread_detach_2_2_5(thread); }
LITEVAULT_HIDDEN int __wrap_pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) {
  return litevault_pthread_key_create2_2_2_5(key, destructor);
}
LITEVAULT_HIDDEN int __wrap_pthread_key_delete(pthread_key_t key) { return litevault_pthread_key_delete_2_2_5(key); }
LITEVAULT_HIDDEN void* __wrap_pthread_getspecific(pthread_key_t key) { return litevault_pthread_getspecific_2_2_5(key); }
LITEVAULT_HIDDEN int __wrap_pthread_setspecific(pthread_key_t key, const void* value) {
  return litevault_pthread_setspecific_2_2_5(key, value);
}

LITEVAULT_HIDDEN int __wrap_stat64(const char* path, struct stat64* buf) { return __xstat64(1, path, buf); }
LITEVAULT_HIDDEN int __wrap_fstat64(int fd, struct stat64* buf) { return __fxstat64(1, fd, buf); }
LITEVAULT_HIDDEN int __wrap_lstat64(const char* path, struct stat64* buf) { return __lxstat64(1, path, buf); }

LITEVAULT_HIDDEN uint32_t __wrap_arc4random(void) {
  uint32_t value = 0;
  for (;;) {
    ssize_t got = getrandom(&value, sizeof value, 0);
    if (got == static_cast<ssize_t>(sizeof value)) return value;
    if (got < 0 && errno != EINTR) break;  // ENOSYS: a kernel older than 3.17
  }
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t got;
    do {
      got = read(fd, &value, sizeof value);
    } while (got < 0 && errno == EINTR);
    close(fd);
    if (got == static_cast<ssize_t>(sizeof value)) return value;
  }
  abort();  // glibc's arc4random also aborts when the system has no entropy to give
}

#if defined(DLFO_STRUCT_HAS_EH_DBASE)
namespace {
struct FindObject {
  uintptr_t pc;
  struct dl_find_object* result;
  bool found;
};

int findObjectIn(struct dl_phdr_info* info, size_t, void* data) {
  auto* find = static_cast<FindObject*>(data);
  uintptr_t start = UINTPTR_MAX, end = 0;
  bool containsPc = false;
  void* ehFrame = nullptr;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    uintptr_t from = info->dlpi_addr + segment.p_vaddr;
    if (segment.p_type == PT_LOAD) {
      uintptr_t to = from + segment.p_memsz;
      if (from < start) start = from;
      if (to > end) end = to;
      if (find->pc >= from && find->pc < to) containsPc = true;
    } else if (segment.p_type == DLFO_EH_SEGMENT_TYPE) {
      ehFrame = reinterpret_cast<void*>(from);
    }
  }
  if (!containsPc) return 0;
  find->result->dlfo_flags = 0;
  find->result->dlfo_map_start = reinterpret_cast<void*>(start);
  find->result->dlfo_map_end = reinterpret_cast<void*>(end);
  find->result->dlfo_link_map = nullptr;
  find->result->dlfo_eh_frame = ehFrame;
  find->found = true;
  return 1;  // stop iterating
}
}  // namespace

LITEVAULT_HIDDEN int __wrap__dl_find_object(void* pc, struct dl_find_object* result) {
  FindObject find{reinterpret_cast<uintptr_t>(pc), result, false};
  dl_iterate_phdr(findObjectIn, &find);
  return find.found ? 0 : -1;
}
#endif  // DLFO_STRUCT_HAS_EH_DBASE

#if __has_include(<sys/single_threaded.h>)
// Invariant: never changes from 0 (see the file comment).
LITEVAULT_HIDDEN char __libc_single_threaded = 0;
#endif

}  // extern "C"

#endif  // LITEVAULT_GLIBC_COMPAT
