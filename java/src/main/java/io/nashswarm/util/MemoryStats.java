package io.nashswarm.util;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Memory as the operating system and the JVM report it, not as computed from shapes. Reads
 * {@code /proc/self/smaps_rollup} (Linux): RSS counts every resident page, including page cache of
 * mapped weight files shared with other processes; PSS divides shared pages among their users.
 */
public record MemoryStats(long rssBytes, long pssBytes, long anonymousBytes, long fileBackedBytes,
                          long heapUsedBytes, long directBytes, long mappedBytes) {
    private static final java.util.regex.Pattern MAPPING_HEADER = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    public static MemoryStats now() {
        Map<String, Long> m = smapsRollup();
        Runtime rt = Runtime.getRuntime();
        long direct = 0, mapped = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                direct = pool.getMemoryUsed();
            } else if (pool.getName().equals("mapped")) {
                mapped = pool.getMemoryUsed();
            }
        }
        long rss = m.getOrDefault("Rss", -1L);
        long anon = m.getOrDefault("Anonymous", -1L);
        long file = rss >= 0 && anon >= 0 ? rss - anon : -1;
        return new MemoryStats(rss, m.getOrDefault("Pss", -1L), anon, file,
                rt.totalMemory() - rt.freeMemory(), direct, mapped);
    }

    /** Values of /proc/self/smaps_rollup in bytes; empty where the file does not exist. */
    static Map<String, Long> smapsRollup() {
        Map<String, Long> out = new LinkedHashMap<>();
        Path p = Path.of("/proc/self/smaps_rollup");
        if (!Files.isReadable(p)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(p)) {
                String[] parts = line.trim().split("\\s+");
                if (parts.length == 3 && parts[0].endsWith(":") && parts[2].equals("kB")) {
                    out.put(parts[0].substring(0, parts[0].length() - 1), Long.parseLong(parts[1]) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // No numbers rather than wrong numbers.
            out.clear();
        }
        return out;
    }

    /**
     * Resident bytes of the mappings of {@code file} in this process (sum of their {@code Rss} lines in
     * /proc/self/smaps), i.e. how much of a memory-mapped model is actually in RAM; -1 if unknown.
     */
    public static long residentBytesOfMapping(Path file) {
        Path smaps = Path.of("/proc/self/smaps");
        if (!Files.isReadable(smaps)) {
            return -1;
        }
        String target = file.toAbsolutePath().normalize().toString();
        long total = 0;
        boolean inTarget = false;
        try {
            for (String line : Files.readAllLines(smaps)) {
                // A mapping starts with "start-end perms offset dev inode [path]"; its fields follow.
                if (MAPPING_HEADER.matcher(line).lookingAt()) {
                    String[] parts = line.split("\\s+", 6);
                    inTarget = parts.length == 6 && parts[5].trim().equals(target);
                } else if (inTarget && line.startsWith("Rss:")) {
                    total += Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return total;
    }

    /** {@link #residentBytesOfMapping} summed over {@code files}; -1 if unknown for any. */
    public static long residentBytesOfMappings(Iterable<Path> files) {
        long total = 0;
        for (Path f : files) {
            long r = residentBytesOfMapping(f);
            if (r < 0) {
                return -1;
            }
            total += r;
        }
        return total;
    }

    public static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format("%.1f", bytes / (1024.0 * 1024.0));
    }
}
