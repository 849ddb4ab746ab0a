using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Akka.Etcd.EndToEnd.Tests.Harness;

/// <summary>
/// Sends a POSIX signal to a child process through libc <c>kill(2)</c> (.NET's <see cref="Process.Kill()"/> only sends
/// SIGKILL): SIGINT for etcdctl's graceful path, SIGTERM for a member's graceful stop. Thread-safe.
/// </summary>
internal static class PosixSignal
{
    /// <summary>SIGINT, as Ctrl-C sends.</summary>
    public const int Interrupt = 2;

    /// <summary>SIGTERM, as <c>kill</c> and <c>systemctl stop</c> send.</summary>
    public const int Terminate = 15;

    /// <summary>SIGCONT: a stopped process runs again.</summary>
    public const int Continue = 18;

    /// <summary>SIGSTOP: the process stops (cannot be caught), as a VM pause or a long GC stall looks to its peers.</summary>
    public const int Stop = 19;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="process"/>; a process that already exited is not an error.</summary>
    /// <exception cref="InvalidOperationException">kill(2) failed while the process still runs (errno in the message).</exception>
    public static void Send(Process process, int signal)
    {
        if (process.HasExited) return;
        if (Kill(process.Id, signal) != 0 && !process.HasExited)
            throw new InvalidOperationException(
                $"kill({signal}) of {Path.GetFileName(process.StartInfo.FileName)} pid {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
