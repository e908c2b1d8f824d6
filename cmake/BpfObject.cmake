# Build helpers for the eBPF side: vmlinux.h from the build host's BTF,
# BPF objects compiled with clang -target bpf (CO-RE), and libbpf skeletons
# generated with `bpftool gen skeleton`.

find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(AIGW_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${AIGW_BPF_OUT})

# aigw_vmlinux_h(OUTVAR): generate vmlinux.h once per build tree.
function(aigw_vmlinux_h outvar)
  set(vmlinux ${AIGW_BPF_OUT}/vmlinux.h)
  set(AIGW_BTF_SOURCE /sys/kernel/btf/vmlinux CACHE FILEPATH "BTF to generate vmlinux.h from")
  add_custom_command(
    OUTPUT ${vmlinux}
    COMMAND ${BPFTOOL} btf dump file ${AIGW_BTF_SOURCE} format c > ${vmlinux}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${vmlinux}.tmp ${vmlinux}
    COMMENT "Generating vmlinux.h from ${AIGW_BTF_SOURCE}"
    VERBATIM)
  add_custom_target(aigw_vmlinux DEPENDS ${vmlinux})
  set(${outvar} ${AIGW_BPF_OUT} PARENT_SCOPE)
endfunction()

# aigw_bpf_object(NAME SOURCE): NAME.bpf.o and NAME.skel.h in ${AIGW_BPF_OUT}.
function(aigw_bpf_object name src)
  set(obj ${AIGW_BPF_OUT}/${name}.bpf.o)
  set(skel ${AIGW_BPF_OUT}/${name}.skel.h)
  get_filename_component(srcdir ${CMAKE_SOURCE_DIR}/${src} DIRECTORY)
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf/lib/*.h ${CMAKE_SOURCE_DIR}/bpf/lib/ctx/*.h
       ${CMAKE_SOURCE_DIR}/include/aigw/*.h ${srcdir}/*.h)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64")
    set(arch x86)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64")
    set(arch arm64)
  else()
    set(arch ${CMAKE_SYSTEM_PROCESSOR})
  endif()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${arch}
            -Wall -Werror -Wno-unused-function -fno-strict-aliasing
            # The objects' BTF names source files: no build path in them
            # (reproducible packages).
            -ffile-prefix-map=${CMAKE_SOURCE_DIR}=. -ffile-prefix-map=${CMAKE_BINARY_DIR}=build
            -I${AIGW_BPF_OUT} -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/bpf
            -c ${CMAKE_SOURCE_DIR}/${src} -o ${obj}
    DEPENDS ${CMAKE_SOURCE_DIR}/${src} ${bpf_headers} ${AIGW_BPF_OUT}/vmlinux.h
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}"
    VERBATIM)
  set(AIGW_BPF_SKELETONS ${AIGW_BPF_SKELETONS} ${skel} PARENT_SCOPE)
  set(AIGW_BPF_OBJECTS ${AIGW_BPF_OBJECTS} ${obj} PARENT_SCOPE)
endfunction()
