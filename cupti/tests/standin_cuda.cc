// A stand-in for the CUDA driver (libcuda.so.1), for tests only: a library with that name, so
// that a test program "has the CUDA driver loaded" as `gputrace attach` checks for, on a host
// without one. It defines none of the driver's functions: the injection library's device
// lookup (driver_devices.cc) finds none and degrades as it does for a driver it cannot ask.
// It is a test double for an external vendor library, never shipped.
extern "C" __attribute__((visibility("default"))) int gputrace_standin_cuda_driver = 1;
