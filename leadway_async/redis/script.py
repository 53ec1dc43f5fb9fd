"""The shared window's bookkeeping in Redis: three Lua scripts and the Python that calls them.

Each script runs atomically on the Redis server and reads the time from Redis's own clock
(`TIME`), so hosts whose clocks disagree still agree on every place. Times are integer
microseconds of that clock. One location's keys, all under one hash tag (one cluster
slot), named `leadway-async:{<namespace>:<location id>}:<part>`:

- `flight` (sorted set): places of requests sent and not answered yet; score: when the
  place lapses if no answer is ever reported (its send plus the request time limit plus
  one window), so a process that dies cannot hold it for ever.
- `done` (sorted set): places of answered (or failed) requests; score: when each is
  released, one window plus the margin after the answer. Kept a while longer
  (`history`) to count which of ours the server can have seen.
- `others` (sorted set): places held for spenders this SDK cannot see, learned from
  `X-RateLimit-Remaining`; score: when each is released.
- `window` (hash): `max` and `interval_ms` the API announced (`max` 0: it announced none).
- `pause` (string): until when a 429 stopped the location.
- `daily` (string): until when the daily quota is used up.
- `seq` (string): a counter naming places.

Every write is followed by a `PEXPIRE`, so each key vanishes once nothing in it can matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import frozen
from redis.asyncio import Redis

__all__ = [
    "DAILY",
    "GRANTED",
    "UNKNOWN",
    "WAIT",
    "Adopted",
    "Finished",
    "Reservation",
    "ThrottleScripts",
    "location_keys",
]

GRANTED, WAIT, UNKNOWN, DAILY = 0, 1, 2, 3
"""`Reservation.code`: a place is held; wait `value` µs; wait for a request in flight to
finish (at least `value` µs, a pause); the daily quota is used up for `value` µs more."""

_PARTS = ("flight", "done", "others", "window", "pause", "daily", "seq")

_PRELUDE = r"""
if redis.replicate_commands then redis.replicate_commands() end
local flight, done, others, window, pause, daily, seq =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Lua turns numbers into text with 14 digits; microseconds of the epoch need 16.
local function s(x) return string.format('%.0f', x) end

-- Lengthen a key's time to live to `ms`, never shorten it.
local function extend(key, ms)
  ms = math.ceil(ms)
  if ms < 1 then ms = 1 end
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

local function moment(key)
  local value = redis.call('GET', key)
  if not value then return 0 end
  local number = tonumber(value)
  if number == nil then
    error('WRONGTYPE ' .. key .. ' holds a value that is not a leadway-async moment')
  end
  return number
end

-- The window the API announced: its size (nil: not known; 0: no limit announced), its
-- interval in ms, and the time a place is held after an answer (window plus margin), in µs.
local function read_window(ratio, margin_min)
  local w = redis.call('HMGET', window, 'max', 'interval_ms')
  local size, interval = tonumber(w[1]), tonumber(w[2])
  if size == nil or interval == nil then return nil, -1, 0 end
  local interval_us = interval * 1000
  return size, interval, interval_us + math.max(margin_min, interval_us * ratio)
end

local function trim(now, history)
  redis.call('ZREMRANGEBYSCORE', flight, '-inf', s(now))
  redis.call('ZREMRANGEBYSCORE', done, '-inf', s(now - history))
  redis.call('ZREMRANGEBYSCORE', others, '-inf', s(now))
end

local function held(now)
  return redis.call('ZCARD', flight) + redis.call('ZCOUNT', done, '(' .. s(now), '+inf')
    + redis.call('ZCARD', others)
end

local function learn(max, interval_ms, ttl)
  redis.call('HSET', window, 'max', math.max(1, max), 'interval_ms', interval_ms)
  redis.call('PEXPIRE', window, ttl)
end
"""

# ARGV: request time limit (µs), margin ratio, least margin (µs), history (µs).
# Returns {code, value (µs or ticket), size (-1: unknown), interval ms, held, now, ticket}.
_RESERVE = (
    _PRELUDE
    + r"""
local limit, ratio, margin_min, history =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_us()
local size, interval, span = read_window(ratio, margin_min)
local function answer(code, value, count, ticket)
  return {code, value, size or -1, interval, count, now, ticket or 0}
end
local stop = moment(daily)
if stop > now then return answer(3, stop - now, 0) end
trim(now, history)
local in_flight = redis.call('ZCARD', flight)
local answered = redis.call('ZCOUNT', done, '(' .. s(now), '+inf')
local seen = redis.call('ZCARD', others)
local count = in_flight + answered + seen
local wait = moment(pause) - now
if wait < 0 then wait = 0 end
if size == nil then
  if in_flight > 0 then return answer(2, wait, count) end  -- one probe until it is known
elseif size > 0 then
  local excess = count - size
  if excess >= 0 then
    if excess >= answered + seen then return answer(2, wait, count) end
    local releases = {}
    for _, key in ipairs({done, others}) do
      local found = redis.call('ZRANGEBYSCORE', key, '(' .. s(now), '+inf', 'WITHSCORES',
        'LIMIT', 0, excess + 1)
      for i = 2, #found, 2 do releases[#releases + 1] = tonumber(found[i]) end
    end
    table.sort(releases)
    wait = math.max(wait, releases[excess + 1] - now)
  end
end
if wait > 0 then return answer(1, math.ceil(wait), count) end
local ticket = redis.call('INCR', seq)
redis.call('ZADD', flight, s(now + limit + span), ticket)
extend(flight, (limit + span) / 1000)
extend(seq, (limit + span + history) / 1000 + 100)
return answer(0, 0, count + 1, ticket)
"""
)

# ARGV: ticket ('' for a place Redis never granted), send time (µs, 0: not known), status
# (0: no answer), X-RateLimit-Max, interval ms, Remaining, Retry-After ms, daily remaining,
# daily reset ms (each -1 when absent), margin ratio, least margin (µs), history (µs),
# window time to live (ms), pause when nothing says how long (ms), daily recheck (ms),
# request time limit (µs).
# Returns {size (-1: unknown), interval ms, held}.
_FINISH = (
    _PRELUDE
    + r"""
local ticket, sent, status = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max, interval_ms, remaining = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local retry_ms, daily_left, daily_reset = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local ratio, margin_min, history = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local window_ttl, default_pause, recheck, limit =
  tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local now = now_us()
if status > 0 then
  if max >= 0 and interval_ms >= 0 then
    learn(max, interval_ms, window_ttl)
  elseif redis.call('EXISTS', window) == 0 then
    -- Answered without a window: none announced, nothing to hold back.
    redis.call('HSET', window, 'max', 0, 'interval_ms', 0)
    redis.call('PEXPIRE', window, window_ttl)
  end
end
local size, interval, span = read_window(ratio, margin_min)
if ticket ~= '' then redis.call('ZREM', flight, ticket) end
trim(now, history)
if size ~= nil and size > 0 then
  if ticket == '' then ticket = 'x' .. redis.call('INCR', seq) end
  redis.call('ZADD', done, s(now + span), 'd' .. ticket)
  extend(done, (span + history) / 1000)
  if status > 0 and remaining >= 0 then
    -- Of ours, the server can have counted only places held since this request's send.
    local ours = redis.call('ZCARD', flight) + redis.call('ZCOUNT', done, '(' .. s(sent), '+inf')
    local extra = size - remaining - ours
    if extra > 0 then
      -- At least `extra` places stay held one span from now; none is shortened.
      local n = redis.call('ZCARD', others)
      redis.call('ZREMRANGEBYRANK', others, math.max(0, n - extra), -1)
      local last = redis.call('INCRBY', seq, extra)
      for i = 1, extra do redis.call('ZADD', others, s(now + span), 'o' .. (last - extra + i)) end
      extend(others, span / 1000)
    end
  end
  extend(seq, (limit + span + history) / 1000 + 100)
end
if status == 429 then
  local hold
  if retry_ms >= 0 then hold = retry_ms * 1000
  elseif size ~= nil and size > 0 then hold = span
  else hold = default_pause * 1000 end
  if hold > 0 and now + hold > moment(pause) then
    redis.call('SET', pause, s(now + hold), 'PX', math.max(1, math.ceil(hold / 1000)))
  end
end
if daily_left == 0 then
  local wait = daily_reset
  if wait < 0 then wait = recheck end
  wait = math.max(1, wait)
  redis.call('SET', daily, s(now + wait * 1000), 'PX', math.ceil(wait))
end
return {size or -1, interval, held(now)}
"""
)

# ARGV: X-RateLimit-Max (-1: not known), interval ms, request time limit (µs), places in
# flight to take over, margin ratio, least margin (µs), history (µs), window time to live
# (ms), the number N of finished places, how long each stays held (N values, µs from now),
# then the tickets of places in flight that finished meanwhile (held among the N).
# Returns {now, ticket of each place in flight taken over...}.
_ADOPT = (
    _PRELUDE
    + r"""
local max, interval_ms, limit, flying =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ratio, margin_min, history, window_ttl =
  tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local holds = tonumber(ARGV[9])
local now = now_us()
if max >= 0 and redis.call('EXISTS', window) == 0 then learn(max, interval_ms, window_ttl) end
local size, interval, span = read_window(ratio, margin_min)
for i = 10 + holds, #ARGV do redis.call('ZREM', flight, ARGV[i]) end
trim(now, history)
local longest = 0
if holds > 0 then
  local last = redis.call('INCRBY', seq, holds)
  for i = 1, holds do
    local hold = tonumber(ARGV[9 + i])
    longest = math.max(longest, hold)
    redis.call('ZADD', others, s(now + hold), 'a' .. (last - holds + i))
  end
  extend(others, longest / 1000)
end
local reply = {now}
for i = 1, flying do
  local ticket = redis.call('INCR', seq)
  redis.call('ZADD', flight, s(now + limit + span), ticket)
  reply[#reply + 1] = ticket
end
if flying > 0 then extend(flight, (limit + span) / 1000) end
extend(seq, (limit + span + history) / 1000 + 100)
return reply
"""
)


def location_keys(namespace: str, location_id: str) -> list[str]:
    """The keys of one location's shared window, in the order the scripts take them."""
    escaped = location_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return [f"leadway-async:{{{namespace}:{escaped}}}:{part}" for part in _PARTS]


@frozen
class Reservation:
    """What the reserve script answered: `code` (`GRANTED`, `WAIT`, `UNKNOWN`, `DAILY`),
    `value` in µs, the window (`size` None: not known; 0: no limit announced), the places
    `held` (this one included when granted), Redis's time `now` (µs) and the `ticket`."""

    code: int
    value: int
    size: int | None
    interval_ms: int | None
    held: int
    now: int
    ticket: str


@frozen
class Finished:
    """What the finish script answered: the window and the places held now."""

    size: int | None
    interval_ms: int | None
    held: int


@frozen
class Adopted:
    """What the adopt script answered: Redis's time and a ticket per place in flight."""

    now: int
    tickets: tuple[str, ...]


def _window(size: int, interval_ms: int) -> tuple[int | None, int | None]:
    return (None, None) if size < 0 else (size, interval_ms)


def _optional(value: int | None) -> int:
    return -1 if value is None else value


class ThrottleScripts:
    """The three scripts on one Redis client, with the throttle's settings.

    `margin_ratio`/`margin_min_s` make the margin after each window, as in `Throttle`;
    `request_limit_s` is how long a place whose answer is never reported is held (plus
    one window); `history_s` how long answered places are kept for counting;
    `window_ttl_s` how long a learned window is kept after it was last confirmed.
    """

    def __init__(
        self,
        client: Redis,
        *,
        margin_ratio: float,
        margin_min_s: float,
        request_limit_s: float,
        history_s: float,
        window_ttl_s: float,
    ) -> None:
        self._reserve = client.register_script(_RESERVE)
        self._finish = client.register_script(_FINISH)
        self._adopt = client.register_script(_ADOPT)
        self._margin = [repr(margin_ratio), _us(margin_min_s)]
        self._limit = _us(request_limit_s)
        self._history = _us(history_s)
        self._window_ttl = str(max(1, round(window_ttl_s * 1000)))

    async def reserve(self, keys: Sequence[str]) -> Reservation:
        """Hold a place if one is free now; else say how long to wait."""
        reply: list[Any] = await self._reserve(
            keys=keys, args=[self._limit, *self._margin, self._history]
        )
        code, value, size, interval, held, now, ticket = (int(item) for item in reply)
        window = _window(size, interval)
        return Reservation(code, value, *window, held, now, str(ticket) if ticket else "")

    async def finish(
        self,
        keys: Sequence[str],
        *,
        ticket: str,
        sent: int,
        status: int,
        max_requests: int | None,
        interval_ms: int | None,
        remaining: int | None,
        retry_after_ms: int | None,
        daily_remaining: int | None,
        daily_reset_ms: int | None,
        default_pause_s: float,
        daily_recheck_s: float,
    ) -> Finished:
        """Release a place one window after its answer, and take in what the answer said
        (status 0: no answer)."""
        args = [
            ticket,
            str(sent),
            str(status),
            *(
                str(_optional(value))
                for value in (
                    max_requests,
                    interval_ms,
                    remaining,
                    retry_after_ms,
                    daily_remaining,
                    daily_reset_ms,
                )
            ),
            *self._margin,
            self._history,
            self._window_ttl,
            str(round(default_pause_s * 1000)),
            str(round(daily_recheck_s * 1000)),
            self._limit,
        ]
        reply: list[Any] = await self._finish(keys=keys, args=args)
        size, interval, held = (int(item) for item in reply)
        return Finished(*_window(size, interval), held)

    async def adopt(
        self,
        keys: Sequence[str],
        *,
        max_requests: int | None,
        interval_ms: int | None,
        in_flight: int,
        holds_s: Sequence[float],
        finished: Sequence[str] = (),
    ) -> Adopted:
        """Hand Redis the places a process took while Redis was away: `in_flight` requests
        still out (each gets a ticket) and finished places held `holds_s` more seconds,
        among them those of the tickets `finished` (granted by Redis, answered while it
        was away: their places in flight are released). The window is learned if Redis
        does not know it."""
        args = [
            str(_optional(max_requests)),
            str(_optional(interval_ms)),
            self._limit,
            str(in_flight),
            *self._margin,
            self._history,
            self._window_ttl,
            str(len(holds_s)),
            *(_us(hold) for hold in holds_s),
            *finished,
        ]
        reply: list[Any] = await self._adopt(keys=keys, args=args)
        now, *tickets = (int(item) for item in reply)
        return Adopted(now, tuple(str(ticket) for ticket in tickets))


def _us(seconds: float) -> str:
    return str(max(0, round(seconds * 1_000_000)))
