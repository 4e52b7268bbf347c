// The lab's apt cache, pure part: the sha256 a Debian source package's .dsc gives for its files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dscSha256 } from "../../../src/lab/apt-cache.js";

/** The fields of keepalived_2.2.7-1.dsc that matter here (Debian bookworm), the signature left out. */
const DSC = `Format: 3.0 (quilt)
Source: keepalived
Version: 1:2.2.7-1
Checksums-Sha1:
 ec5f603e13c2704070d0f5be79ef7d85b311e15b 1180180 keepalived_2.2.7.orig.tar.gz
 0540ce09e4f2a59062297cc633f0c615bb122594 8080 keepalived_2.2.7-1.debian.tar.xz
Checksums-Sha256:
 c61940d874154a560a54627ecf7ef47adebdf832164368d10bf242a4d9b7d49d 1180180 keepalived_2.2.7.orig.tar.gz
 4b3b57d0dea79d717e07dd962aa303c7a131f55b2a87be984f5e578c2836c703 8080 keepalived_2.2.7-1.debian.tar.xz
Files:
 5f310b66a043a1fb31acf65af15e95bc 1180180 keepalived_2.2.7.orig.tar.gz
 895e0777e8b5ffbd988e7c184b007ede 8080 keepalived_2.2.7-1.debian.tar.xz
`;

test("dscSha256: the Checksums-Sha256 line of the file named, not the Sha1 or MD5 one", () => {
  assert.equal(dscSha256(DSC, "keepalived_2.2.7.orig.tar.gz"), "c61940d874154a560a54627ecf7ef47adebdf832164368d10bf242a4d9b7d49d");
  assert.equal(dscSha256(DSC, "keepalived_2.2.7-1.debian.tar.xz"), "4b3b57d0dea79d717e07dd962aa303c7a131f55b2a87be984f5e578c2836c703");
  assert.equal(dscSha256(DSC, "keepalived_2.2.8.orig.tar.gz"), undefined);
  assert.equal(dscSha256("Source: x\n", "x.orig.tar.gz"), undefined);
});
