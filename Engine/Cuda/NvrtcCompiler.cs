using System.Runtime.InteropServices;
using System.Text;
using Astmt.Engine.Cuda.Native;

namespace Astmt.Engine.Cuda;

/// <summary>Result of one NVRTC compilation: the PTX and the compiler log (warnings; empty when clean).</summary>
public sealed record NvrtcResult(string Ptx, string Log);

/// <summary>Compiles CUDA C to PTX with NVRTC. Every call is checked; a failed compilation throws with the full log.</summary>
public static unsafe class NvrtcCompiler
{
    /// <summary>True when libnvrtc loads; <paramref name="reason"/> names the file or says why not.</summary>
    public static bool IsAvailable(out string reason) => NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out reason);

    /// <summary>NVRTC's version (major, minor).</summary>
    public static (int Major, int Minor) Version
    {
        get
        {
            Check(NvrtcNative.nvrtcVersion(out int major, out int minor), "nvrtcVersion", "", "");
            return (major, minor);
        }
    }

    /// <summary>Compiles <paramref name="source"/> (named <paramref name="fileName"/> in messages) for <paramref name="architecture"/>
    /// (e.g. compute_80), with <paramref name="headers"/> available to #include.</summary>
    public static NvrtcResult Compile(string source, string fileName, string architecture, IReadOnlyDictionary<string, string> headers)
    {
        var pins = new List<GCHandle>();
        byte* Pin(string s)
        {
            var h = GCHandle.Alloc(Encoding.UTF8.GetBytes(s + "\0"), GCHandleType.Pinned);
            pins.Add(h);
            return (byte*)h.AddrOfPinnedObject();
        }
        IntPtr program = IntPtr.Zero;
        try
        {
            var headerNames = headers.Keys.ToArray();
            byte** hs = stackalloc byte*[Math.Max(1, headerNames.Length)];
            byte** hn = stackalloc byte*[Math.Max(1, headerNames.Length)];
            for (int i = 0; i < headerNames.Length; i++) { hs[i] = Pin(headers[headerNames[i]]); hn[i] = Pin(headerNames[i]); }
            string args = $"{fileName}, {architecture}";
            Check(NvrtcNative.nvrtcCreateProgram(out program, Pin(source), Pin(fileName), headerNames.Length, hs, hn), "nvrtcCreateProgram", args, "");
            string[] options = [$"--gpu-architecture={architecture}", "--std=c++17", "-default-device"];
            byte** opts = stackalloc byte*[options.Length];
            for (int i = 0; i < options.Length; i++) opts[i] = Pin(options[i]);
            int compiled = NvrtcNative.nvrtcCompileProgram(program, options.Length, opts);
            string log = ReadLog(program, args);
            Check(compiled, "nvrtcCompileProgram", args, log);
            Check(NvrtcNative.nvrtcGetPTXSize(program, out nuint size), "nvrtcGetPTXSize", args, "");
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx) Check(NvrtcNative.nvrtcGetPTX(program, p), "nvrtcGetPTX", args, "");
            return new NvrtcResult(Encoding.UTF8.GetString(ptx).TrimEnd('\0'), log);
        }
        finally
        {
            if (program != IntPtr.Zero) NvrtcNative.nvrtcDestroyProgram(ref program);
            foreach (var h in pins) h.Free();
        }
    }

    private static string ReadLog(IntPtr program, string args)
    {
        Check(NvrtcNative.nvrtcGetProgramLogSize(program, out nuint size), "nvrtcGetProgramLogSize", args, "");
        if (size <= 1) return "";
        var log = new byte[(int)size];
        fixed (byte* p = log) Check(NvrtcNative.nvrtcGetProgramLog(program, p), "nvrtcGetProgramLog", args, "");
        return Encoding.UTF8.GetString(log).TrimEnd('\0').Trim();
    }

    private static void Check(int result, string call, string arguments, string log)
    {
        if (result == 0) return;
        string text = Marshal.PtrToStringUTF8((IntPtr)NvrtcNative.nvrtcGetErrorString(result)) ?? $"nvrtcResult {result}";
        throw new NvrtcException(call, arguments, result, text, log);
    }
}
