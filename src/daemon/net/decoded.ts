// What every decoder in the daemon returns: a value, or a typed reason (never an exception) so
// rejected packets can be counted by reason (STYLE.md habit 5).

export type Decoded<T, R extends string = DecodeReason> =
  | { ok: true; value: T }
  | { ok: false; reason: R; detail?: string };

/** Reasons shared by the codecs; each codec narrows to the ones it can return. */
export type DecodeReason =
  | "short" // fewer bytes than a header or a declared length needs
  | "bad-length" // a length field disagrees with the bytes there
  | "bad-attr" // a netlink attribute has the wrong size for its declared kind
  | "bad-type" // a type/kind field the decoder does not accept
  | "bad-version"
  | "bad-checksum"
  | "bad-ttl"
  | "bad-count" // a count field disagrees with the length
  | "bad-auth"
  | "bad-field"; // any other out-of-range field (named in detail)

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<R extends string>(reason: R, detail?: string): { ok: false; reason: R; detail?: string } {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}
