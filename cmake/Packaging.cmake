# The Debian package (scripts/package.sh runs `cpack -G DEB` in a build tree): the daemon, the
# CUPTI injection library where the CUDA toolkit was found, the systemd unit, the default
# configuration (a conffile), man pages made from --help, the docs, and the Prometheus rules
# and Grafana dashboard. Depends comes from dpkg-shlibdeps on the installed binaries.
#
# Paths are for a package installed under /usr; a build tree installs the same layout under
# CMAKE_INSTALL_PREFIX.
set(GPUTRACE_DEPLOY_DIR ${CMAKE_SOURCE_DIR}/deploy)

install(FILES ${GPUTRACE_DEPLOY_DIR}/systemd/gputrace.service DESTINATION lib/systemd/system)
install(FILES ${GPUTRACE_DEPLOY_DIR}/systemd/dma-only.conf DESTINATION share/gputrace/systemd)
install(FILES ${GPUTRACE_DEPLOY_DIR}/gputrace.conf DESTINATION /etc/gputrace)
install(FILES ${GPUTRACE_DEPLOY_DIR}/prometheus/gputrace-rules.yaml DESTINATION share/gputrace/prometheus)
install(FILES ${GPUTRACE_DEPLOY_DIR}/grafana/gputrace.json DESTINATION share/gputrace/grafana)
install(DIRECTORY ${GPUTRACE_DEPLOY_DIR}/kubernetes DESTINATION share/gputrace)
file(GLOB _gputrace_docs ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/CHANGELOG.md ${GPUTRACE_DEPLOY_DIR}/debian/copyright
              ${_gputrace_docs} DESTINATION share/doc/gputrace)

# Man pages: gputrace(8) and one per command, from their --help (help2man).
find_program(HELP2MAN help2man)
set(_gputrace_man_commands daemon doctor record report top live)
if(HELP2MAN)
  set(_man_dir ${CMAKE_BINARY_DIR}/man)
  set(_man_pages ${_man_dir}/gputrace.8.gz)
  foreach(cmd ${_gputrace_man_commands})
    list(APPEND _man_pages ${_man_dir}/gputrace-${cmd}.8.gz)
  endforeach()
  add_custom_command(
    OUTPUT ${_man_pages}
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/man-pages.sh $<TARGET_FILE:gputrace> ${_man_dir} ${PROJECT_VERSION}
            ${_gputrace_man_commands}
    DEPENDS gputrace ${CMAKE_SOURCE_DIR}/scripts/man-pages.sh
    COMMENT "Man pages from --help (help2man)")
  add_custom_target(gputrace_man ALL DEPENDS ${_man_pages})
  install(FILES ${_man_pages} DESTINATION share/man/man8)
else()
  message(STATUS "gputrace: help2man not found: no man pages (scripts/package.sh refuses to package without them)")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gputrace)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "eBPF tracer for GPU/ML inference hosts: GC pauses, DMA leaks, PCIe stalls")
set(CPACK_PACKAGE_CONTACT "gputrace maintainers <gputrace@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # gputrace_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# CPack puts the summary first and indents these lines
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "gputrace records DMA-API mappings, IOMMU events and faults, AER errors, swiotlb
bouncing, GC pauses of CPython, HotSpot and Go processes and (with its CUPTI
injection library) GPU timelines on one clock. It flags leaked device mappings,
IOMMU faults, PCIe stalls with their cause and GPU idle time caused by GC, and
exports all of it to Prometheus and OpenTelemetry (the gputrace service).")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcupti comes with the CUDA toolkit or driver, not from a Debian package: dpkg-shlibdeps
# finds it there and leaves it out of Depends (the injection library loads into CUDA programs,
# which bring their own)
if(TARGET gputrace_cupti)
  get_target_property(_cupti_dir gputrace_cupti INSTALL_RPATH)  # libcupti's folder (cupti/CMakeLists.txt)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${_cupti_dir})
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, prometheus-node-exporter")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${GPUTRACE_DEPLOY_DIR}/debian/conffiles ${GPUTRACE_DEPLOY_DIR}/debian/postinst
                                       ${GPUTRACE_DEPLOY_DIR}/debian/prerm ${GPUTRACE_DEPLOY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
