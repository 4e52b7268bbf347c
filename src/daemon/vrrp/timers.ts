// VRRP timer arithmetic, in milliseconds. Pure.
//
// RFC 3768 §6.1 (v2) defines Skew_Time = (256 - Priority) / 256 seconds, independent of the
// advert interval; RFC 5798 §6.1 (v3) scales it by Master_Adver_Interval. keepalived uses the
// scaled form for both versions (vrrp.h VRRP_TIMER_SKEW), and so do we: with the default 1 s
// interval the two agree, and with a longer v2 interval the scaled skew keeps the priority
// order meaningful.

/** RFC 3768 §5.3.4 / RFC 5798 §5.2.4: 255 is the address owner, 0 means "master resigning". */
export const PRIORITY_OWNER = 255;
export const PRIORITY_STOP = 0;
/** The lowest priority a live router can carry (RFC 3768 §5.3.4: 1-254 for backups): what a
 * nopreempt instance advertises while it adopts VIPs after a restart (state.ts), so it never wins
 * against a master that took over meanwhile. */
export const PRIORITY_ADOPTING = 1;

/** Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 (RFC 5798 §6.1). */
export function skewMs(priority: number, masterAdverIntervalMs: number): number {
  return ((256 - priority) * masterAdverIntervalMs) / 256;
}

/** Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time (RFC 5798 §6.1, RFC 3768 §6.1). */
export function masterDownMs(priority: number, masterAdverIntervalMs: number): number {
  return 3 * masterAdverIntervalMs + skewMs(priority, masterAdverIntervalMs);
}
