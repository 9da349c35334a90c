/**
 * A TCP proxy that adds latency: every chunk read from either side is written to the other side `delayMs`
 * after it arrived (so a request/response exchange costs 2 x `delayMs` more than without the proxy). Chunks keep
 * their order and are pipelined (a burst of chunks is delayed once, not once per chunk); half-closes are passed
 * on, so HTTP/1.1 keep-alive and `Connection: close` both behave as they do without the proxy. The TCP handshake
 * with the client is not delayed (the proxy accepts locally), like a connection whose SYN/ACK costs nothing: it
 * only makes the figures kinder to clients that open many connections, which the tool does not.
 *
 * As a program (bench/run.sh):
 *
 * ```sh
 * deno run --allow-net bench/latency_proxy.ts --target 127.0.0.1:5000 --delay 20 [--port 0] [--stdin-lifeline]
 * ```
 *
 * prints `127.0.0.1:PORT` (where it listens) on stdout and runs until SIGTERM/SIGINT, or with `--stdin-lifeline`
 * also until its stdin reaches EOF (so it cannot outlive a parent that holds the pipe, even one killed hard).
 *
 * @module
 */

/** Options of {@linkcode startLatencyProxy}. */
export interface LatencyProxyOptions {
  /** `host:port` to forward to. */
  target: string;
  /** Delay added to each chunk, each way, in milliseconds. */
  delayMs: number;
  /** Port to listen on (127.0.0.1); 0 (default) picks a free one. */
  port?: number;
}

/** A running proxy. */
export interface LatencyProxy extends AsyncDisposable {
  /** `127.0.0.1:PORT` to connect to instead of the target. */
  host: string;
  /** The listening port. */
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Stop listening, close every connection and wait for the pumps to end. Idempotent. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function splitHostPort(hostPort: string): { hostname: string; port: number } {
  const i = hostPort.lastIndexOf(":");
  const port = Number(hostPort.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TypeError(`invalid target "${hostPort}": expected HOST:PORT`);
  }
  return { hostname: hostPort.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * Copy `from` to `to`, each chunk `delayMs` after it was read. Reading never waits for writing (a reader task
 * queues, a writer task drains), so the delay is added once per chunk in flight, not accumulated. At EOF the
 * write side of `to` is closed (half-close) once everything queued has been written.
 */
async function pump(from: Deno.TcpConn, to: Deno.TcpConn, delayMs: number): Promise<void> {
  const queue: { due: number; data: Uint8Array | null }[] = [];
  let wake: (() => void) | undefined;
  const push = (data: Uint8Array | null) => {
    queue.push({ due: performance.now() + delayMs, data });
    wake?.();
    wake = undefined;
  };
  const reader = (async () => {
    try {
      for (;;) {
        const buf = new Uint8Array(64 * 1024);
        const n = await from.read(buf);
        if (n === null) break;
        push(buf.subarray(0, n));
      }
    } catch {
      // reset or closed by the other pump: end this direction
    }
    push(null);
  })();
  try {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((resolve) => wake = resolve);
      const item = queue.shift()!;
      const wait = item.due - performance.now();
      if (wait > 0) await sleep(wait);
      if (item.data === null) {
        await to.closeWrite().catch(() => {});
        break;
      }
      let off = 0;
      while (off < item.data.length) off += await to.write(item.data.subarray(off));
    }
  } catch {
    // the receiving side is gone: stop reading too
    try {
      from.close();
    } catch {
      // already closed
    }
  }
  await reader;
}

/**
 * Start a latency proxy in this process.
 *
 * @example
 * ```ts
 * await using proxy = await startLatencyProxy({ target: "127.0.0.1:5000", delayMs: 20 });
 * await fetch(`http://${proxy.host}/v2/`); // ~40 ms slower than direct
 * ```
 */
export function startLatencyProxy(opts: LatencyProxyOptions): LatencyProxy {
  const target = splitHostPort(opts.target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: opts.port ?? 0, transport: "tcp" });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.TcpConn>();
  const tasks = new Set<Promise<void>>();
  let accepted = 0;
  let closed: Promise<void> | undefined;

  const handle = async (client: Deno.TcpConn) => {
    open.add(client);
    let upstream: Deno.TcpConn | undefined;
    try {
      upstream = await Deno.connect({ ...target, transport: "tcp" });
      open.add(upstream);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      await Promise.all([pump(client, upstream, opts.delayMs), pump(upstream, client, opts.delayMs)]);
    } catch {
      // target refused: drop the client
    } finally {
      for (const c of [client, upstream]) {
        if (!c) continue;
        open.delete(c);
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    }
  };

  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        const t = handle(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch {
      // listener closed
    }
  })();

  const close = () => {
    closed ??= (async () => {
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const c of open) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await acceptLoop;
      await Promise.allSettled([...tasks]);
    })();
    return closed;
  };

  return {
    host: `127.0.0.1:${port}`,
    port,
    connections: () => accepted,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function parseArgs(args: string[]): LatencyProxyOptions & { lifeline: boolean } {
  const opts: Partial<LatencyProxyOptions & { lifeline: boolean }> = {
    delayMs: 20,
    port: 0,
    lifeline: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    const value = () => inline ?? args[++i];
    if (flag === "--target") opts.target = value();
    else if (flag === "--delay") opts.delayMs = Number(value());
    else if (flag === "--port") opts.port = Number(value());
    else if (flag === "--stdin-lifeline") opts.lifeline = true;
    else throw new TypeError(`unknown argument "${args[i]}"`);
  }
  if (!opts.target) throw new TypeError("--target HOST:PORT is required");
  if (!Number.isFinite(opts.delayMs) || opts.delayMs! < 0) throw new TypeError("--delay must be >= 0 (ms)");
  return opts as LatencyProxyOptions & { lifeline: boolean };
}

if (import.meta.main) {
  let opts: LatencyProxyOptions & { lifeline: boolean };
  try {
    opts = parseArgs(Deno.args);
  } catch (err) {
    console.error(`latency_proxy: ${(err as Error).message}`);
    console.error("usage: latency_proxy.ts --target HOST:PORT [--delay MS] [--port PORT] [--stdin-lifeline]");
    Deno.exit(2);
  }
  const proxy = startLatencyProxy(opts);
  console.log(proxy.host);
  const stop = () => proxy.close().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  if (opts.lifeline) {
    const buf = new Uint8Array(64);
    try {
      while ((await Deno.stdin.read(buf)) !== null) { /* ignore */ }
    } catch {
      // stdin unusable: rely on signals
    }
    await stop();
  }
}
