/** How times, durations and ids read on screen. Pure functions, so they are easy to test. */

/** 850 -> "850 ms", 1700 -> "1.7 s", 95_000 -> "1 m 35 s", 7_500_000 -> "2 h 5 m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "just now", "3 min ago", "2 h ago", "4 d ago". */
export function formatAgo(at: number, now: number): string {
  const s = Math.round((now - at) / 1000);
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** "in 7 d", "in 5 h", "in 12 min", "in under a minute", "now": how long until `at`. */
export function formatUntil(at: number, now: number): string {
  const s = Math.round((at - now) / 1000);
  if (s <= 0) return "now";
  if (s < 60) return "in under a minute";
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `in ${h} h`;
  return `in ${Math.floor(h / 24)} d`;
}

/** Wall-clock time of day, for timelines and log lines. */
export function formatClock(at: number, withMillis = false): string {
  const d = new Date(at);
  const hms = d.toLocaleTimeString(undefined, { hour12: false });
  return withMillis ? `${hms}.${String(d.getMilliseconds()).padStart(3, "0")}` : hms;
}

export const shortSha = (sha: string) => sha.slice(0, 7);

export const formatCount = (n: number) => n.toLocaleString("en-US");

/** Bytes in the largest unit that keeps a number of at least 1 (1024-based, as the engine counts). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 10 ? 0 : 1)} ${units[unit]}`;
}
