// A client sending one request through the VIP every 200 ms until stopped: every answer, timed.
// The qemu deploy and NAT tests run it across a deploy or a drill and count what failed.
import { sleep } from "../../../src/lab/proc.js";

export type VipAnswer = { t: number; a: string };
export type VipClientResult = { answers: VipAnswer[]; failed: VipAnswer[]; text: string };

/** `get` answers with the real server's name, or a string starting with "error". */
export function vipClient(get: () => Promise<string>): { t0: number; stop(): Promise<VipClientResult> } {
  let stop = false;
  const t0 = Date.now();
  const answers: VipAnswer[] = [];
  const done = (async () => {
    while (!stop) {
      answers.push({ t: Date.now() - t0, a: await get() });
      await sleep(200);
    }
  })();
  return {
    t0,
    async stop() {
      stop = true;
      await done;
      const failed = answers.filter((x) => x.a.startsWith("error"));
      return { answers, failed, text: `${answers.length} requests, ${failed.length} failed${failed.length ? ` (${failed.slice(0, 5).map((x) => `${x.t} ms: ${x.a}`).join(" | ")})` : ""}` };
    },
  };
}

/** Who held the VIP, sampled until stopped: each change of the holder set, `t` in ms since `t0`
 * (a vipClient's, so the two line up). A sample takes as long as `holders` does (an exec in each
 * guest: 0.2-2 s under emulation), so a short hold can fall between two samples. */
export function holderWatch(holders: () => Promise<string[]>, t0: number): { stop(): Promise<VipAnswer[]> } {
  let stop = false;
  const changes: VipAnswer[] = [];
  const done = (async () => {
    while (!stop) {
      const h = (await holders()).join("+") || "none";
      if (changes.at(-1)?.a !== h) changes.push({ t: Date.now() - t0, a: h });
      await sleep(300);
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return changes;
    },
  };
}

/** A connection that was set up through one director when the VIP moved to the other: its next
 * packets reach a director with no IPVS connection entry for it (no connection sync in these
 * labs), the VIP is a local address there and nothing listens, so the kernel answers with a RST
 * and curl says "Recv failure: Connection reset by peer" (exit 56). keepalived has the same on
 * every move. A refused connection (a director holding the VIP with no service for it), a timeout
 * (no holder for longer than the client waits) or a wrong answer is never this. */
export const IN_FLIGHT_RESET = /Recv failure: Connection reset by peer/;

/** The failed requests of a run the VIP moved `moves` times in: those a move explains (a reset,
 * at most one per move) and the rest. */
export function splitByMoves(failed: readonly VipAnswer[], moves: number): { explained: VipAnswer[]; unexplained: VipAnswer[] } {
  const resets = failed.filter((x) => IN_FLIGHT_RESET.test(x.a));
  const explained = resets.slice(0, moves);
  return { explained, unexplained: failed.filter((x) => !explained.includes(x)) };
}
