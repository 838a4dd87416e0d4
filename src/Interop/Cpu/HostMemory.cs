using System.Globalization;

namespace BlasLinear.Backends;

/// <summary>
/// How much host memory this process can still get: the least of the kernel's <c>MemAvailable</c> and the
/// room left under every memory limit of its control groups (v1 and v2). Under Linux's overcommit a large
/// allocation succeeds whatever is there, and the process is killed when the memory is touched; comparing
/// first turns that into an exception.
/// </summary>
internal static class HostMemory
{
    /// <summary>Allocations from this size on are compared first; smaller ones cannot take a process down alone.</summary>
    public const long CheckFrom = 16L << 20;

    /// <summary>The bytes this process can still allocate and touch, and where that figure comes from; null when unknown (not Linux).</summary>
    public static (long Bytes, string Source)? Available()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        (long Bytes, string Source)? least = null;
        if (MemAvailable() is long available)
        {
            least = (available, "MemAvailable");
        }

        foreach ((long room, string source) in CgroupRoom())
        {
            if (least is null || room < least.Value.Bytes)
            {
                least = (room, source);
            }
        }

        return least;
    }

    /// <summary>Throws when <paramref name="bytes"/> is more than the process can get.</summary>
    /// <exception cref="InsufficientMemoryException">The request exceeds what is available; the message gives both.</exception>
    public static void EnsureAvailable(long bytes)
    {
        if (bytes < CheckFrom || Available() is not { } available || bytes <= available.Bytes)
        {
            return;
        }

        throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
            $"Cannot allocate {Size(bytes)} of host memory: this process can get {Size(available.Bytes)} ({available.Source})."));
    }

    private static string Size(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes ({bytes / (1024.0 * 1024 * 1024):0.00} GiB)");

    private static long? MemAvailable()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Limit minus usage of this process's memory cgroup and each of its parents that has a limit.</summary>
    private static List<(long Room, string Source)> CgroupRoom()
    {
        var rooms = new List<(long, string)>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/self/cgroup");
        }
        catch (IOException)
        {
            return rooms;
        }
        catch (UnauthorizedAccessException)
        {
            return rooms;
        }

        foreach (string line in lines)
        {
            string[] fields = line.Split(':', 3);
            if (fields.Length != 3)
            {
                continue;
            }

            if (fields[0] == "0" && fields[1].Length == 0)
            {
                Walk(rooms, "/sys/fs/cgroup", fields[2], "memory.max", "memory.current", "cgroup v2 memory.max");
            }
            else if (fields[1].Split(',').Contains("memory"))
            {
                Walk(rooms, "/sys/fs/cgroup/memory", fields[2], "memory.limit_in_bytes", "memory.usage_in_bytes", "cgroup memory.limit_in_bytes");
            }
        }

        return rooms;
    }

    private static void Walk(List<(long, string)> rooms, string mount, string path, string limitFile, string usageFile, string label)
    {
        string relative = path.Trim('/');
        while (true)
        {
            string folder = relative.Length == 0 ? mount : Path.Combine(mount, relative);
            if (ReadNumber(Path.Combine(folder, limitFile)) is long limit && limit < long.MaxValue / 2
                && ReadNumber(Path.Combine(folder, usageFile)) is long usage)
            {
                rooms.Add((Math.Max(0, limit - usage), string.Create(CultureInfo.InvariantCulture, $"{label} {limit} bytes, {usage} in use, at {folder}")));
            }

            if (relative.Length == 0)
            {
                return;
            }

            int slash = relative.LastIndexOf('/');
            relative = slash < 0 ? string.Empty : relative[..slash];
        }
    }

    private static long? ReadNumber(string file)
    {
        try
        {
            string text = File.ReadAllText(file).Trim();
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
