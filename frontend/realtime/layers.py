"""The Redis channel layer with a group send in one Redis round trip instead of four.

channels_redis already stores one copy of a group message per server *process* (its sockets'
channels share one Redis list) and the process fans it out in memory. But each group send first
trims and reads the group, then trims the processes' lists, then writes: four trips through the
server's event loop per group, three groups per chat line. Here one Lua script does all of it in
Redis, with the same rules: members older than the group expiry dropped, messages older than the
expiry dropped, a full list skipped. The copy names its channels in a short header that
`deserialize` turns back into channels_redis' own `__asgi_channel__` list, so receiving is
unchanged. Falls back to the stock code when it cannot apply (several Redis hosts, per-channel
capacities)."""

from __future__ import annotations

import hashlib
import logging
import time

from channels_redis.core import RedisChannelLayer
from redis.exceptions import NoScriptError

logger = logging.getLogger(__name__)

# Stock messages begin with 12 random bytes (channels_redis' prefix that keeps equal messages apart in a
# sorted set): a 12-byte header cannot be told from them by chance (one in 2**96).
HEADER = b"\xc1\xc1one-trip\xc1\xc1"
SEP = b"\xc1"  # not allowed in channel names

# KEYS[1]: the group. ARGV: now, group cutoff, message cutoff, list expiry, capacity, key prefix, message.
# A channel "specific.<process>!<socket>" lives in the list "<prefix>specific.<process>!"; each list
# gets one copy: HEADER, its channel names joined by commas, SEP, the serialized message.
GROUP_SEND_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[2])
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local lists, order = {}, {}
for _, channel in ipairs(members) do
    local bang = string.find(channel, '!', 1, true)
    local key = ARGV[6] .. (bang and string.sub(channel, 1, bang) or channel)
    if lists[key] == nil then
        lists[key] = {}
        table.insert(order, key)
    end
    table.insert(lists[key], channel)
end
local over = 0
for _, key in ipairs(order) do
    redis.call('ZREMRANGEBYSCORE', key, 0, ARGV[3])
    if redis.call('ZCARD', key) < tonumber(ARGV[5]) then
        redis.call('ZADD', key, ARGV[1], ARGV[8] .. table.concat(lists[key], ',') .. ARGV[9] .. ARGV[7])
        redis.call('EXPIRE', key, ARGV[4])
    else
        over = over + #lists[key]
    end
end
return {#members, over}
"""

# KEYS: a process's list, its backup. ARGV[1]: the message handed over last time ("" if none). That one
# leaves the backup; anything else there (a receive cancelled after its pop) goes back to the list first;
# then the oldest message moves from the list to the backup and is returned (false: the list is empty).
POP_LUA = """
if ARGV[1] ~= '' then
    redis.call('ZREM', KEYS[2], ARGV[1])
end
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local popped = redis.call('ZPOPMIN', KEYS[1])
if popped[1] then
    redis.call('ZADD', KEYS[2], popped[2], popped[1])
    return popped[1]
end
return false
"""


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()


async def _run(connection, script: str, keys: list, args: list):
    try:
        return await connection.evalsha(_sha(script), len(keys), *keys, *args)
    except NoScriptError:
        return await connection.eval(script, len(keys), *keys, *args)


class OneTripRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._handed: dict[str, bytes] = {}  # per process list: the message last received, still in its backup

    def _one_trip(self) -> bool:
        return self.ring_size == 1 and not self.channel_capacity

    async def group_send(self, group, message):
        if not self._one_trip():
            return await super().group_send(group, message)
        assert self.require_valid_group_name(group), "Group name not valid"
        now = time.time()
        args = [
            now,
            int(now) - self.group_expiry,
            int(now) - int(self.expiry),
            int(self.expiry),
            self.capacity,
            self.prefix,
            self.serialize(message),
            HEADER,
            SEP,
        ]
        members, over = await _run(self.connection(0), GROUP_SEND_LUA, [self._group_key(group)], args)
        if over:
            logger.info("%s of %s channels over capacity in group %s", over, members, group)

    async def receive_single(self, channel):
        """A server process's list: one trip per message while messages wait (stock: four), the same
        backup discipline (a message popped by a cancelled receive goes back to the list first)."""
        if not self._one_trip() or not channel.endswith("!"):
            return await super().receive_single(channel)
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        key = self.prefix + channel
        backup = self._backup_channel_name(key)
        connection = self.connection(0)
        handed = self._handed.get(key, b"")
        content = await _run(connection, POP_LUA, [key, backup], [handed])
        if content is None:  # nothing waiting: block until something comes (the backup is empty now)
            self._handed.pop(key, None)
            while content is None:
                result = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if result is not None:
                    _, content, score = result
                    await connection.zadd(backup, {content: float(score)})
        self._handed[key] = content  # dropped from the backup by the next receive
        message = self.deserialize(content)
        return message.pop("__asgi_channel__", channel), message

    def deserialize(self, message):
        if not message.startswith(HEADER):
            return super().deserialize(message)
        channels, _, body = message[len(HEADER) :].partition(SEP)
        result = super().deserialize(body)
        result["__asgi_channel__"] = channels.decode("ascii").split(",")
        return result
