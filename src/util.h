/*
 * util.h -- durations, times, byte order, hashing and UTF-8 helpers.
 */
#ifndef PROG_UTIL_H
#define PROG_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct buf;

#define UTIL_TIMELEN	32	/* room for an RFC 3339 time with ms */

/* Current wall-clock time in ms since the epoch (plus the test offset). */
int64_t	 util_now_ms(void);
/* Current wall-clock time in seconds since the epoch. */
int64_t	 util_now(void);
/* Shift the clock by ms (tests move time with this). */
void	 util_clock_offset(int64_t);
/* CPU time used by this process, in microseconds. */
int64_t	 util_cpu_us(void);

/*
 * Parse a duration: "30s", "5m", "2h", "7d", "1w", "250ms" or a bare integer
 * meaning seconds.  Stores milliseconds.  Returns 0, or -1 with *errstr set.
 */
int	 util_parse_duration_ms(const char *, int64_t *, const char **);
/* Same, in whole seconds (sub-second values are refused). */
int	 util_parse_duration(const char *, int64_t *, const char **);
/* Format seconds as the shortest duration string ("90s" -> "90s", "3600" -> "1h"). */
void	 util_fmt_duration(int64_t, char *, size_t);

/*
 * Parse a time: RFC 3339 / ISO 8601 ("2026-11-23T19:30:00Z",
 * "2026-11-23T19:30:00.123+01:00", "2026-11-23 19:30:00", "2026-11-23")
 * into ms since the epoch.  Returns 0 or -1.
 */
int	 util_parse_time_ms(const char *, size_t, int64_t *);
/* Format ms since the epoch as "2026-11-23T19:30:00Z" (seconds resolution). */
void	 util_fmt_time(int64_t, char *, size_t);
/* Format ms since the epoch with milliseconds: "2026-11-23T19:30:00.123Z". */
void	 util_fmt_time_ms(int64_t, char *, size_t);

/* Parse a whole decimal int64 (optional sign); returns 0 or -1. */
int	 util_parse_int64(const char *, size_t, int64_t *);
/* Parse a whole decimal uint64 within [0, max]; returns 0 or -1. */
int	 util_parse_uint(const char *, uint64_t, uint64_t *);

/* Big-endian integers, for LMDB keys that sort. */
void	 util_be64_put(uint8_t *, uint64_t);
uint64_t util_be64_get(const uint8_t *);
void	 util_be32_put(uint8_t *, uint32_t);
uint32_t util_be32_get(const uint8_t *);

/* FNV-1a 64-bit hash, for in-memory tables and deterministic jitter. */
uint64_t util_hash(const void *, size_t);
/* A 64-bit mix of one integer (splitmix64 finaliser). */
uint64_t util_mix64(uint64_t);
/* A pseudo-random 64-bit number (not for secrets). */
uint64_t util_random(void);
/* Fill a buffer from the kernel's random source; fatal on failure. */
void	 util_random_bytes(void *, size_t);

/*
 * Append s (n bytes) to b, replacing every invalid UTF-8 sequence with
 * U+FFFD.  Returns the number of replacements.
 */
size_t	 util_utf8_append(struct buf *, const char *, size_t);
/* True when the n bytes are valid UTF-8. */
int	 util_utf8_valid(const char *, size_t);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void	 util_hex(const uint8_t *, size_t, char *);
/* SHA-256 of n bytes, as 32 raw bytes. */
void	 util_sha256(const void *, size_t, uint8_t [32]);
/* Compare two strings in time independent of where they differ. */
int	 util_secure_equal(const char *, const char *);

/*
 * Append n bytes of s to b percent-encoded: letters, digits, "-_.~" and
 * the characters of keep stay as they are, every other byte becomes %XX.
 */
void	 util_urlencode(struct buf *, const char *, size_t, const char *);

#endif
