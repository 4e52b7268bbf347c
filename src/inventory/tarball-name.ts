// What a release tarball's name says: keepalived-2.2.7.tar.gz (keepalived's releases) and
// keepalived_2.2.7.orig.tar.gz (Debian's source package) both say 2.2.7. The version names a
// build's directory on the directors (src/plan/ops/build.ts), so it is one plain word.

/** A version as it may appear in a directory name: no `/`, no leading `.` or `-`. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;

/** The version in a tarball's file name (a path or a URL), or undefined when it does not say. */
export function tarballVersion(tarball: string): string | undefined {
  const name = tarball.replace(/[?#].*$/, "").replace(/\/+$/, "").replace(/^.*\//, "");
  const m = /^keepalived[-_]v?(\d+(?:\.\d+)+(?:[-.+~][A-Za-z0-9]+)*?)(?:\.orig)?\.(?:tar(?:\.(?:gz|xz|bz2|zst))?|tgz|txz|tbz2)$/.exec(name);
  return m && VERSION_PATTERN.test(m[1]!) ? m[1] : undefined;
}
