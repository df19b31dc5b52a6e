// A password change checked in the browser before it is sent, against the
// policy the page was rendered with (auth.yaml, see pages.py). The API checks
// again and is the judge; this only saves a round trip and speaks the page's
// language. No DOM: Node runs it in the unit tests.

/** Characters as the API counts them (code points, not UTF-16 units). */
const length = (text) => [...text].length;

/**
 * The problems with `values` ({current, next, confirm, username}), at most one
 * per field, as {field, key, values} (an i18n key and its placeholders), in
 * the order the fields appear. An empty list means "send it".
 */
export function passwordProblems({ current = "", next = "", confirm = "", username = "" }, policy) {
  const problems = [];
  if (!current) problems.push({ field: "current_password", key: "account.currentMissing" });
  const rule = newPasswordRule(next, current, username, policy);
  if (rule) problems.push({ field: "new_password", ...rule });
  if (!confirm) problems.push({ field: "confirm_password", key: "account.confirmMissing" });
  else if (next && confirm !== next) problems.push({ field: "confirm_password", key: "account.mismatch" });
  return problems;
}

function newPasswordRule(next, current, username, policy) {
  const min = policy?.minLength ?? 12;
  const max = policy?.maxLength ?? 256;
  if (!next) return { key: "account.newMissing" };
  if (length(next) < min) return { key: "account.tooShort", values: { min } };
  if (length(next) > max) return { key: "account.tooLong", values: { max } };
  if (policy?.requireLetter && !/\p{L}/u.test(next)) return { key: "account.needsLetter" };
  // \p{N} is a little wider than the API's str.isdigit(): in doubt the browser
  // lets a password through and the API's answer is shown.
  if (policy?.requireDigit && !/\p{N}/u.test(next)) return { key: "account.needsDigit" };
  if (username && next.toLowerCase() === username.toLowerCase()) return { key: "account.notUsername" };
  if (current && next === current) return { key: "account.same" };
  return null;
}

/** The policy in one sentence's parts, for the hint under the field. */
export function policyHint(policy) {
  const min = policy?.minLength ?? 12;
  if (policy?.requireLetter && policy?.requireDigit) return { key: "account.policyLetterDigit", values: { min } };
  if (policy?.requireLetter) return { key: "account.policyLetter", values: { min } };
  if (policy?.requireDigit) return { key: "account.policyDigit", values: { min } };
  return { key: "account.policyLength", values: { min } };
}
