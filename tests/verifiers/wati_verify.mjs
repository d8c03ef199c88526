// The spec's Node.js verifier ("Incoming-message webhooks"), verbatim, run by the tests as
// an independent check of X-Wati-Signature.
// stdin: JSON [{"body": "<raw body>", "signature": "<X-Wati-Signature>", "secret": "<secret>"}, …]
// stdout: JSON [true|false, …]
import crypto from "crypto";

function verify(rawBody, signatureHeader, secret) {
  const expected = "sha256=" + crypto
    .createHmac("sha256", secret)
    .update(rawBody)
    .digest("hex");
  return crypto.timingSafeEqual(
    Buffer.from(signatureHeader),
    Buffer.from(expected)
  );
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((c) => {
    try {
      return verify(c.body, c.signature, c.secret);
    } catch {
      return false; // timingSafeEqual throws when the lengths differ
    }
  });
  process.stdout.write(JSON.stringify(results));
});
