# BPF objects and their libbpf skeletons.
#
#   gputrace_bpf_skeleton(<name> <source.bpf.c> [-DNAME...])
#
# compiles <source> with clang -target bpf (CO-RE, against vmlinux.h generated from the
# build machine's /sys/kernel/btf/vmlinux), strips DWARF (BTF stays; the object shrinks ~15x)
# and generates <name>.skel.h into ${GPUTRACE_BPF_GEN_DIR}. The interface target
# gputrace_bpf_skeletons carries the include path and the dependency on every skeleton.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPF_STRIP NAMES llvm-strip-14 llvm-strip REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(GPUTRACE_BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf-gen)
file(MAKE_DIRECTORY ${GPUTRACE_BPF_GEN_DIR})
set(GPUTRACE_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "kernel BTF that vmlinux.h is generated from")
if(NOT EXISTS ${GPUTRACE_VMLINUX_BTF})
  message(FATAL_ERROR "${GPUTRACE_VMLINUX_BTF} is missing: gputrace's BPF programs are CO-RE and need a "
                      "kernel built with CONFIG_DEBUG_INFO_BTF=y to build against (or set GPUTRACE_VMLINUX_BTF).")
endif()

add_custom_command(
  OUTPUT ${GPUTRACE_BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${GPUTRACE_VMLINUX_BTF} format c > ${GPUTRACE_BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${GPUTRACE_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(gputrace_vmlinux_h DEPENDS ${GPUTRACE_BPF_GEN_DIR}/vmlinux.h)

execute_process(COMMAND ${CMAKE_C_COMPILER} -dumpmachine OUTPUT_VARIABLE _multiarch OUTPUT_STRIP_TRAILING_WHITESPACE)
# -mcpu=v3 (5.12+; gputrace needs 6.1): the atomic exchange and compare-and-exchange the
# pairing table's slot states and the GPU probe's scratch guard are made of
set(GPUTRACE_BPF_CFLAGS -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Wno-unused-function
    -I${GPUTRACE_BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/bpf
    # usdt.bpf.h pulls <asm/errno.h>, which Debian keeps under the multiarch directory
    -idirafter /usr/include/${_multiarch})

add_library(gputrace_bpf_skeletons INTERFACE)
target_include_directories(gputrace_bpf_skeletons INTERFACE ${GPUTRACE_BPF_GEN_DIR})

function(gputrace_bpf_skeleton name source)
  # extra arguments go to the compiler: -D definitions (one source, several variants), -mcpu
  set(_defines ${ARGN})
  get_filename_component(_src ${source} ABSOLUTE)
  set(_obj ${GPUTRACE_BPF_GEN_DIR}/${name}.bpf.o)
  set(_skel ${GPUTRACE_BPF_GEN_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${_obj}
    COMMAND ${BPF_CLANG} ${GPUTRACE_BPF_CFLAGS} ${_defines} -MD -MF ${_obj}.d -c ${_src} -o ${_obj}
    COMMAND ${BPF_STRIP} -g ${_obj}
    DEPENDS ${_src} gputrace_vmlinux_h ${GPUTRACE_BPF_GEN_DIR}/vmlinux.h
    DEPFILE ${_obj}.d
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${_skel}
    COMMAND ${BPFTOOL} gen skeleton ${_obj} name ${name}_bpf > ${_skel}
    DEPENDS ${_obj}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${_skel})
  add_dependencies(gputrace_bpf_skeletons ${name}_skel)
endfunction()
