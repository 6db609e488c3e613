#!/usr/bin/env python3
"""A stand-in for `nvcc --ptx`, backed by libnvrtc, to exercise the nvcc step of kernels.cu.props on a machine with NVRTC
but without the CUDA toolkit:

    dotnet build Engine -c Release -p:AstmtNvcc=$PWD/Tools/nvcc-via-nvrtc.py

It accepts exactly what kernels.cu.props passes: `--ptx -arch=compute_XY -I DIR FILE.cu -o OUT.ptx`, and compiles with the
same options as Engine/Cuda/NvrtcCompiler.cs. The library is $ASTMT_NVRTC, else libnvrtc.so.11.2 / libnvrtc.so.
"""
import ctypes
import os
import sys


def fail(message):
    sys.exit(f"nvcc-via-nvrtc: {message}")


def parse(args):
    arch, includes, source, output, i = None, [], None, None, 0
    while i < len(args):
        a = args[i]
        if a == "--ptx":
            pass
        elif a.startswith("-arch="):
            arch = a[len("-arch="):]
        elif a in ("-I", "-o"):
            if i + 1 >= len(args):
                fail(f"{a} needs a value")
            i += 1
            if a == "-I":
                includes.append(args[i])
            else:
                output = args[i]
        elif a.startswith("-"):
            fail(f"unsupported option {a} (expected --ptx -arch=compute_XY -I DIR FILE.cu -o OUT.ptx)")
        else:
            source = a
        i += 1
    if not (arch and source and output):
        fail("expected --ptx -arch=compute_XY -I DIR FILE.cu -o OUT.ptx")
    return arch, includes, source, output


def load_nvrtc():
    for name in filter(None, [os.environ.get("ASTMT_NVRTC"), "libnvrtc.so.11.2", "libnvrtc.so"]):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    fail("libnvrtc not found (set ASTMT_NVRTC to its path)")


def main():
    arch, includes, source, output = parse(sys.argv[1:])
    nvrtc = load_nvrtc()
    program = ctypes.c_void_p()
    with open(source, "rb") as f:
        text = f.read()
    if nvrtc.nvrtcCreateProgram(ctypes.byref(program), text, os.path.basename(source).encode(), 0, None, None) != 0:
        fail(f"{source}: nvrtcCreateProgram failed")
    options = [f"--gpu-architecture={arch}".encode(), b"--std=c++17", b"-default-device"] + [b"-I" + d.encode() for d in includes]
    result = nvrtc.nvrtcCompileProgram(program, len(options), (ctypes.c_char_p * len(options))(*options))
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    if log.value.strip():
        sys.stderr.write(log.value.decode(errors="replace"))
    if result != 0:
        fail(f"{source} ({arch}): nvrtcCompileProgram failed with code {result}")
    nvrtc.nvrtcGetPTXSize(program, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetPTX(program, ptx)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    with open(output, "wb") as f:
        f.write(ptx.value)
    print(f"nvcc-via-nvrtc: {source} -> {output} ({arch})")


if __name__ == "__main__":
    main()
