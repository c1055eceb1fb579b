# Locates the libraries gputrace links against. All come from Debian packages
# (scripts/install-deps.sh); a missing one stops configuration with the package to install.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
# capture reading (userspace/capture/zlib_stream.cc): libdeflate-dev
find_path(LIBDEFLATE_INCLUDE_DIR libdeflate.h)
find_library(LIBDEFLATE libdeflate.so)
if(NOT LIBDEFLATE_INCLUDE_DIR OR NOT LIBDEFLATE)
  message(FATAL_ERROR "libdeflate is missing: apt-get install libdeflate-dev (scripts/install-deps.sh)")
endif()

pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
pkg_check_modules(LIBELF REQUIRED IMPORTED_TARGET libelf)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
# The /metrics server and the OTLP/HTTP client (HTTPS): libcpp-httplib-dev, libcurl4-openssl-dev.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(CURL REQUIRED)

# Static archives for the self-contained binary that runs inside the vm tier's guests.
find_library(LIBBPF_STATIC libbpf.a REQUIRED)
find_library(LIBELF_STATIC libelf.a REQUIRED)
find_library(LIBZ_STATIC libz.a REQUIRED)
find_library(LIBDEFLATE_STATIC libdeflate.a REQUIRED)
