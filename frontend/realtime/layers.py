"""The Redis channel layer with a group send in one Redis round trip instead of four.

channels_redis already stores one copy of a group message per server *process* (its sockets'
channels share one Redis list) and the process fans it out in memory. But each group send first
trims and reads the group, then trims the processes' lists, then writes: four trips through the
server's event loop per group, three groups per chat line. Here one Lua script does all of it in
Redis, with the same rules: members older than the group expiry dropped, messages older than the
expiry dropped, a full list skipped. The copy names its channels in a short header that
`deserialize` turns back into channels_redis' own `__asgi_channel__` list. Receiving: one reader
task per process takes up to RECEIVE_BATCH messages off the process's list a trip and hands them to
the sockets' buffers (stock: one message a trip and a lock race among all waiting sockets). Falls
back to the stock code when it cannot apply (several Redis hosts, per-channel capacities)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time

from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import NoScriptError

logger = logging.getLogger(__name__)

# Stock messages begin with 12 random bytes (channels_redis' prefix that keeps equal messages apart in a
# sorted set): a 12-byte header cannot be told from them by chance (one in 2**96).
HEADER = b"\xc1\xc1one-trip\xc1\xc1"
SEP = b"\xc1"  # not allowed in channel names
RECEIVE_BATCH = 100  # messages taken off a process's list per trip
POOL_CONNECTIONS = 100  # per process and event loop, as redis-py's default
POOL_WAIT_SECONDS = 20  # for a free connection before a command fails

# Group sends in one trip, in order. KEYS: the groups. ARGV: now, group cutoff, message cutoff, list expiry,
# capacity, key prefix, HEADER, SEP, then per message its group's index in KEYS, its score (increasing: a list
# keeps them in order) and it. A channel "specific.<process>!<socket>" lives in the list "<prefix>specific.<process>!";
# each list gets one copy of a message: HEADER, its channel names joined by commas, SEP, the serialized message.
GROUP_SEND_MANY_LUA = """
local members_of = {}
local over = 0
for i = 9, #ARGV, 3 do
    local group = KEYS[tonumber(ARGV[i])]
    if members_of[group] == nil then
        redis.call('ZREMRANGEBYSCORE', group, 0, ARGV[2])
        members_of[group] = redis.call('ZRANGE', group, 0, -1)
    end
    local lists, order = {}, {}
    for _, channel in ipairs(members_of[group]) do
        local bang = string.find(channel, '!', 1, true)
        local key = ARGV[6] .. (bang and string.sub(channel, 1, bang) or channel)
        if lists[key] == nil then
            lists[key] = {}
            table.insert(order, key)
        end
        table.insert(lists[key], channel)
    end
    for _, key in ipairs(order) do
        redis.call('ZREMRANGEBYSCORE', key, 0, ARGV[3])
        if redis.call('ZCARD', key) < tonumber(ARGV[5]) then
            redis.call('ZADD', key, ARGV[i + 1], ARGV[7] .. table.concat(lists[key], ',') .. ARGV[8] .. ARGV[i + 2])
            redis.call('EXPIRE', key, ARGV[4])
        else
            over = over + #lists[key]
        end
    end
end
return over
"""

# KEYS: a process's list, its backup, the number of the batch the backup holds. ARGV: the number of the last batch
# this process got (its messages are in memory: the backup is dropped; anything else there, a batch whose reply was
# lost to a cancellation, goes back to the list first), this batch's number, how many to take. The oldest messages
# move from the list to the backup and are returned (an empty list: the list is empty).
POP_LUA = """
if redis.call('GET', KEYS[3]) == ARGV[1] then
    redis.call('DEL', KEYS[2])
else
    local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
    end
    redis.call('DEL', KEYS[2])
end
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[3]))
local messages = {}
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
    table.insert(messages, popped[i])
end
redis.call('SET', KEYS[3], ARGV[2], 'EX', 86400)
return messages
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
        self._reader: asyncio.Task | None = None  # reads this process's list while any socket waits
        self._batch_numbers = itertools.count(1)
        self._last_batch: dict[str, str] = {}  # per process list: the number of the last batch received whole

    def _one_trip(self) -> bool:
        return self.ring_size == 1 and not self.channel_capacity

    def create_pool(self, index):
        """A pool whose callers wait for a free connection: the stock pool fails the 101st concurrent command
        ("Too many connections"), e.g. 1,000 sockets leaving their groups at once, which closed them with 1011
        and left them in their groups."""
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        if address is None or not self._one_trip():
            return super().create_pool(index)
        host.setdefault("max_connections", POOL_CONNECTIONS)
        host.setdefault("timeout", POOL_WAIT_SECONDS)
        return BlockingConnectionPool.from_url(address, **host)

    async def group_send(self, group, message):
        if not self._one_trip():
            return await super().group_send(group, message)
        await self.group_send_many([(group, message)])

    async def group_send_many(self, sends: list[tuple[str, dict]]) -> None:
        """Several group sends in one Redis trip, in order (stock: one trip per send, or four)."""
        if not sends:
            return
        if not self._one_trip():
            for group, message in sends:
                await super().group_send(group, message)
            return
        groups: dict[str, int] = {}
        per_send = []
        now = time.time()
        for n, (group, message) in enumerate(sends):
            assert self.require_valid_group_name(group), "Group name not valid"
            index = groups.setdefault(self._group_key(group), len(groups) + 1)
            per_send += [index, repr(now + n * 1e-6), self.serialize(message)]
        args = [now, int(now) - self.group_expiry, int(now) - int(self.expiry), int(self.expiry), self.capacity]
        args += [self.prefix, HEADER, SEP, *per_send]
        over = await _run(self.connection(0), GROUP_SEND_MANY_LUA, list(groups), args)
        if over:
            logger.info("%s channels over capacity in a send to %s groups", over, len(groups))

    async def receive(self, channel):
        """A socket of this process waits on its own buffer; one reader task fills the buffers from the
        process's Redis list, up to RECEIVE_BATCH messages a trip. Stock channels_redis has every waiting
        socket race for a lock with two tasks per wait, and reads one message per trip."""
        if not self._one_trip() or "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel), "Channel name invalid"
        real_channel = self.non_local_name(channel)
        assert real_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        buffer = self.receive_buffer[channel]
        if buffer.empty():
            self.receive_count += 1
            self._start_reader(real_channel)
            try:
                message = await buffer.get()
            except asyncio.CancelledError:
                # The socket's consumer stopped (as stock). The reader is not cancelled when nobody else waits: a
                # reader cancelled in its blocking pop may lose the message Redis just handed it, and until the
                # cancellation lands it looks alive, so the next socket's receive would not start another one.
                # It stops by itself after its trip.
                self.receive_buffer.pop(channel, None)
                raise
            finally:
                self.receive_count -= 1
        else:
            message = buffer.get_nowait()
        if buffer.empty() and self.receive_buffer.get(channel) is buffer:
            del self.receive_buffer[channel]
        return message

    def _start_reader(self, real_channel: str) -> None:
        loop = asyncio.get_running_loop()
        reader = self._reader
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if not reader.get_loop().is_closed():
                raise RuntimeError("Two event loops are trying to receive() on one channel layer at once!")
        self._reader = loop.create_task(self._read(real_channel))

    async def _read(self, real_channel: str) -> None:
        """Until no socket waits (checked between trips): take the waiting messages off the list in one trip
        (the backup keeps them until the next trip says they arrived), or block until one comes."""
        key = self.prefix + real_channel
        keys = [key, self._backup_channel_name(key), key + "$batch"]
        while self.receive_count > 0:
            try:
                connection = self.connection(0)
                number = str(next(self._batch_numbers))
                contents = await _run(connection, POP_LUA, keys, [self._last_batch.get(key, ""), number, RECEIVE_BATCH])
                self._last_batch[key] = number
                if not contents:
                    popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                    contents = [popped[1]] if popped is not None else []
                for content in contents:
                    message = self.deserialize(content)
                    channels = message.pop("__asgi_channel__", real_channel)
                    for channel in channels if isinstance(channels, list) else [channels]:
                        self.receive_buffer[channel].put_nowait(message)
            except Exception:  # Redis away: the sockets stay and get their messages when it is back
                logger.exception("Channel layer: reading %s failed; retrying in a second", key)
                await asyncio.sleep(1)

    async def close_pools(self):
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done() and reader.get_loop() is asyncio.get_running_loop():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        await super().close_pools()

    def deserialize(self, message):
        if not message.startswith(HEADER):
            return super().deserialize(message)
        channels, _, body = message[len(HEADER) :].partition(SEP)
        result = super().deserialize(body)
        result["__asgi_channel__"] = channels.decode("ascii").split(",")
        return result
