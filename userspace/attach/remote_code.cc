#include "userspace/attach/remote_code.h"

extern "C" {
#include "bpf/gpu_attach.h"
}

#define GT_STR2(x) #x
#define GT_STR(x) GT_STR2(x)

// Offsets into struct gt_attach_block, checked against the struct in bpf/gpu_attach.h.
// clang-format off
asm(R"(
  .pushsection .text.gputrace_remote_code, "ax", @progbits
  .balign 64
  .globl gt_remote_code_start
  .hidden gt_remote_code_start
gt_remote_code_start:

  .globl gt_remote_trampoline
  .hidden gt_remote_trampoline
gt_remote_trampoline:
  cld
  lea   )" GT_STR(GT_ATTACH_OFF_THREAD) R"((%r12), %rdi
  xor   %esi, %esi
  lea   gt_remote_helper(%rip), %rdx
  mov   %r12, %rcx
  call  *)" GT_STR(GT_ATTACH_OFF_PTHREAD_CREATE) R"((%r12)
  mov   %eax, )" GT_STR(GT_ATTACH_OFF_CREATE_RC) R"((%r12)
  lea   8(%r13), %rsp
  mov   $15, %eax
  syscall
  ud2

  .globl gt_remote_helper
  .hidden gt_remote_helper
gt_remote_helper:
  push  %rbx
  mov   %rdi, %rbx
  movl  $)" GT_STR(GT_ATTACH_STAGE_STARTED) R"(, )" GT_STR(GT_ATTACH_OFF_STAGE) R"((%rbx)
  call  *)" GT_STR(GT_ATTACH_OFF_PTHREAD_SELF) R"((%rbx)
  mov   %rax, %rdi
  call  *)" GT_STR(GT_ATTACH_OFF_PTHREAD_DETACH) R"((%rbx)
  mov   )" GT_STR(GT_ATTACH_OFF_ENTRY) R"((%rbx), %rax
  test  %rax, %rax
  jnz   3f
  lea   )" GT_STR(GT_ATTACH_OFF_PATH) R"((%rbx), %rdi
  mov   $2, %esi
  call  *)" GT_STR(GT_ATTACH_OFF_DLOPEN) R"((%rbx)
  mov   %rax, )" GT_STR(GT_ATTACH_OFF_HANDLE) R"((%rbx)
  movslq )" GT_STR(GT_ATTACH_OFF_CLOSE_FD) R"((%rbx), %rdi
  test  %rdi, %rdi
  js    1f
  call  *)" GT_STR(GT_ATTACH_OFF_CLOSE) R"((%rbx)
1:
  mov   )" GT_STR(GT_ATTACH_OFF_HANDLE) R"((%rbx), %rdi
  test  %rdi, %rdi
  jz    5f
  lea   )" GT_STR(GT_ATTACH_OFF_SYMBOL) R"((%rbx), %rsi
  call  *)" GT_STR(GT_ATTACH_OFF_DLSYM) R"((%rbx)
  test  %rax, %rax
  jz    6f
  mov   %rax, )" GT_STR(GT_ATTACH_OFF_ENTRY) R"((%rbx)
3:
  lea   )" GT_STR(GT_ATTACH_OFF_ARGS) R"((%rbx), %rdi
  call  *%rax
  mov   %eax, )" GT_STR(GT_ATTACH_OFF_ENTRY_RC) R"((%rbx)
  movl  $)" GT_STR(GT_ATTACH_STAGE_DONE) R"(, )" GT_STR(GT_ATTACH_OFF_STAGE) R"((%rbx)
  jmp   9f
5:
  call  *)" GT_STR(GT_ATTACH_OFF_DLERROR) R"((%rbx)
  call  7f
  movl  $)" GT_STR(GT_ATTACH_STAGE_DLOPEN_FAILED) R"(, )" GT_STR(GT_ATTACH_OFF_STAGE) R"((%rbx)
  jmp   9f
6:
  call  *)" GT_STR(GT_ATTACH_OFF_DLERROR) R"((%rbx)
  call  7f
  movl  $)" GT_STR(GT_ATTACH_STAGE_DLSYM_FAILED) R"(, )" GT_STR(GT_ATTACH_OFF_STAGE) R"((%rbx)
  jmp   9f
7:
  lea   )" GT_STR(GT_ATTACH_OFF_ERROR) R"((%rbx), %rdi
  mov   $)" GT_STR(GT_ATTACH_ERROR_MAX) R"(-1, %ecx
  test  %rax, %rax
  jz    8f
10:
  movb  (%rax), %dl
  test  %dl, %dl
  jz    8f
  movb  %dl, (%rdi)
  inc   %rax
  inc   %rdi
  dec   %ecx
  jnz   10b
8:
  movb  $0, (%rdi)
  ret
9:
  xor   %eax, %eax
  pop   %rbx
  ret

  .globl gt_remote_code_end
  .hidden gt_remote_code_end
gt_remote_code_end:
  .popsection
)");
// clang-format on

extern "C" const char gt_remote_code_start[], gt_remote_code_end[];
extern "C" const char gt_remote_trampoline[] asm("gt_remote_trampoline");
extern "C" const char gt_remote_helper[] asm("gt_remote_helper");

namespace gputrace::attach {

RemoteCode remote_code() {
  RemoteCode c;
  c.bytes = {reinterpret_cast<const std::byte*>(gt_remote_code_start),
             static_cast<size_t>(gt_remote_code_end - gt_remote_code_start)};
  c.trampoline = static_cast<size_t>(gt_remote_trampoline - gt_remote_code_start);
  c.helper = static_cast<size_t>(gt_remote_helper - gt_remote_code_start);
  return c;
}

}  // namespace gputrace::attach
