// A passphrase strength hint for people, not a security proof: the Rust
// side enforces policy. Rewards length and words, penalises repetition,
// sequences and the handful of choices everyone makes first.

export type Strength = {
  score: 0 | 1 | 2 | 3 | 4;
  label: "Too short" | "Weak" | "Fair" | "Good" | "Strong";
  hint: string;
  /** Good enough to create a vault with. */
  acceptable: boolean;
};

export const MIN_LENGTH = 10;

const COMMON = [
  "password", "passphrase", "passw0rd", "qwerty", "azerty", "letmein", "welcome", "admin", "coffer",
  "clinic", "hospital", "doctor", "patient", "iloveyou", "monkey", "dragon", "sunshine", "football",
  "123456", "abc123", "trustno1",
];

function estimateBits(p: string): number {
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(p)) pool += 33;
  const chars = [...p];
  // Repeated characters and straight runs add little.
  let effective = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!.codePointAt(0)!;
    const prev = i > 0 ? chars[i - 1]!.codePointAt(0)! : -10;
    const prev2 = i > 1 ? chars[i - 2]!.codePointAt(0)! : -10;
    if (c === prev) effective += 0.1;
    else if (c - prev === prev - prev2 && Math.abs(c - prev) === 1) effective += 0.2;
    else effective += 1;
  }
  return effective * Math.log2(Math.max(pool, 2));
}

export function passphraseStrength(p: string): Strength {
  const len = [...p].length;
  if (len < MIN_LENGTH) {
    return {
      score: 0,
      label: "Too short",
      hint: `Use at least ${MIN_LENGTH} characters. A short sentence is easy to remember.`,
      acceptable: false,
    };
  }
  const lower = p.toLowerCase();
  let bits = estimateBits(p);
  for (const w of COMMON) if (lower.includes(w)) bits -= 18;
  const words = p.trim().split(/\s+/).filter((w) => w.length >= 3).length;
  if (words >= 4) bits += 12;
  let score: Strength["score"];
  if (bits < 40) score = 1;
  else if (bits < 55) score = 2;
  else if (bits < 75) score = 3;
  else score = 4;
  const labels = ["Too short", "Weak", "Fair", "Good", "Strong"] as const;
  const hints: Record<number, string> = {
    1: "Easy to guess. Add more words or avoid common ones.",
    2: "OK. A few more words would make it much stronger.",
    3: "Hard to guess.",
    4: "Very hard to guess.",
  };
  return { score, label: labels[score], hint: hints[score]!, acceptable: score >= 2 };
}
