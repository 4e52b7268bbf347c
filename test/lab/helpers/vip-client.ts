// A client sending one request through the VIP every 200 ms until stopped: every answer, timed.
// The qemu deploy and NAT tests run it across a deploy or a drill and count what failed.
import { sleep } from "../../../src/lab/proc.js";

export type VipAnswer = { t: number; a: string };
export type VipClientResult = { answers: VipAnswer[]; failed: VipAnswer[]; text: string };

/** `get` answers with the real server's name, or a string starting with "error". */
export function vipClient(get: () => Promise<string>): { stop(): Promise<VipClientResult> } {
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
    async stop() {
      stop = true;
      await done;
      const failed = answers.filter((x) => x.a.startsWith("error"));
      return { answers, failed, text: `${answers.length} requests, ${failed.length} failed${failed.length ? ` (${failed.slice(0, 5).map((x) => `${x.t} ms: ${x.a}`).join(" | ")})` : ""}` };
    },
  };
}
