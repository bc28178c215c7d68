/**
 * PROTOCOL 2.13: a peer with more than this queued to it (`ws`'s `bufferedAmount`: what the kernel
 * did not take yet) is not reading. It is closed with 1008 instead of being sent more, so a
 * client that pings without reading cannot grow the process's memory with its pongs.
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

export const NOT_READING = 'more than 1 MB queued: the client is not reading';

/** Checked before every send. */
export const isBacklogged = (socket: { bufferedAmount: number }): boolean => socket.bufferedAmount > MAX_QUEUED_BYTES;
