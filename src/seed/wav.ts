import { Random } from './random';

/**
 * Synthetic call recordings for the demo seed.
 *
 * Real recordings cannot ship with the repository, but the dashboard's audio
 * player needs something playable, so the seed synthesizes a few seconds of
 * "phone call": North-American ringback, then two speakers taking turns. The
 * speech is additive synthesis — harmonics of a pitch contour shaped by vowel
 * formants, chopped into syllables — which reads as muffled talking on a phone
 * line without any recorded material. 8 kHz 16-bit mono PCM is what telephony
 * actually carries, is playable by every browser, and keeps a 6-second clip
 * under 100 KB.
 */

const SAMPLE_RATE = 8000;
const BITS = 16;
/** The telephone passband ends near 3.4 kHz; harmonics above it are dropped. */
const BAND_TOP_HZ = 3400;

/** Vowel formants (F1, F2, F3 in Hz) of an adult male voice; a higher voice scales them up. */
const VOWELS: readonly (readonly [number, number, number])[] = [
  [730, 1090, 2440], // a  (father)
  [270, 2290, 3010], // i  (beet)
  [300, 870, 2240], //  u  (boot)
  [530, 1840, 2480], // e  (bet)
  [570, 840, 2410], //  o  (bought)
  [660, 1720, 2410], // ae (bat)
  [490, 1350, 1690], // er (bird)
  [440, 1020, 2240], // oo (book)
];

interface Voice {
  /** Mean fundamental frequency. */
  pitchHz: number;
  /** Formant scale: shorter vocal tracts have higher formants. */
  formantScale: number;
  /** Loudness: the far end of a phone line sounds quieter. */
  gain: number;
}

/**
 * A deterministic WAV (RIFF, PCM 16-bit mono, 8000 Hz) of `seconds` length
 * (clamped to 0.5–30 s): ringback, then alternating agent/caller speech.
 * The same seed always yields the same bytes.
 */
export function synthesizeCallAudio(seed: number, seconds: number): Buffer {
  const random = new Random(seed);
  const duration = Math.min(30, Math.max(0.5, Number.isFinite(seconds) ? seconds : 0.5));
  const total = Math.round(duration * SAMPLE_RATE);
  const out = new Float32Array(total);

  // Ringback first: 2 s (the US cadence is 2 s on, 4 s off; one ring is enough
  // before "pick-up"). Short clips get a proportionally shorter ring.
  const ringEnd = Math.min(2 * SAMPLE_RATE, Math.floor(total * 0.35));

  // Two voices with clearly different pitch: the agent higher, the caller lower
  // (which one is which varies with the seed so recordings do not all sound alike).
  const high: Voice = { pitchHz: random.float(185, 225), formantScale: 1.16, gain: 1 };
  const low: Voice = { pitchHz: random.float(100, 135), formantScale: 1, gain: 0.8 };
  const [agent, caller] = random.chance(0.75) ? [high, low] : [low, high];

  // A silent gap after pick-up, then turns until the clip ends.
  let cursor = ringEnd + Math.round(random.float(0.25, 0.45) * SAMPLE_RATE);
  let speaker = agent;
  while (cursor < total - SAMPLE_RATE * 0.2) {
    cursor = speakTurn(out, cursor, random.float(0.9, 1.8), speaker, random);
    cursor += Math.round(random.float(0.18, 0.5) * SAMPLE_RATE); // pause between turns
    speaker = speaker === agent ? caller : agent;
  }

  // Speech peaks at -2 dBFS; the ringback (440 + 480 Hz) sits well below it,
  // as on a real line — normalizing the whole clip would let the steady tone
  // set the level and leave the voices faint.
  let peak = 0;
  for (let i = ringEnd; i < total; i++) peak = Math.max(peak, Math.abs(out[i] ?? 0));
  const gain = peak > 0 ? 0.8 / peak : 0;
  for (let i = ringEnd; i < total; i++) out[i] = (out[i] ?? 0) * gain + (random.next() - 0.5) * 0.003; // faint line hiss
  for (let i = 0; i < ringEnd; i++) {
    const t = i / SAMPLE_RATE;
    out[i] = 0.1 * (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 480 * t)) * fade(i, ringEnd, 80);
  }

  return encodeWav(out);
}

/** Writes one speaker turn of syllables starting at `start`; returns where it ended. */
function speakTurn(out: Float32Array, start: number, seconds: number, voice: Voice, random: Random): number {
  const end = Math.min(out.length, start + Math.round(seconds * SAMPLE_RATE));
  let phase = 0;
  let at = start;
  // Declination: pitch drifts down across a phrase; questions end rising.
  const rising = random.chance(0.3);
  while (at < end) {
    const syllable = Math.min(end - at, Math.round(random.float(0.11, 0.26) * SAMPLE_RATE));
    const [f1, f2, f3] = random.pick(VOWELS);
    const formants = [f1 * voice.formantScale, f2 * voice.formantScale, f3 * voice.formantScale];
    const stress = random.float(0.55, 1);

    // Harmonic amplitudes for this vowel: a -6 dB/octave glottal tilt times
    // the sum of three resonance peaks. Fixed per syllable; the envelope
    // hides the switch between syllables.
    const maxHarmonics = Math.floor(BAND_TOP_HZ / (voice.pitchHz * 0.8));
    const amplitudes = new Float64Array(maxHarmonics + 1);
    for (let k = 1; k <= maxHarmonics; k++) {
      const f = k * voice.pitchHz;
      let resonance = 0;
      for (const [index, formant] of formants.entries()) {
        const bandwidth = 60 + 40 * index;
        resonance += 1 / (1 + ((f - formant) / bandwidth) ** 2);
      }
      amplitudes[k] = (resonance / k) * (f < 300 ? 0.3 : 1); // phone lines cut the lows
    }

    // An optional consonant: a short burst of high-passed noise before the vowel.
    const consonant = random.chance(0.45) ? Math.round(random.float(0.02, 0.05) * SAMPLE_RATE) : 0;
    let previousNoise = 0;
    for (let i = 0; i < syllable; i++) {
      const n = at + i;
      const progress = (n - start) / Math.max(1, end - start);
      const contour = rising && progress > 0.75 ? 1 + (progress - 0.75) * 1.2 : 1.08 - 0.16 * progress;
      const pitch = voice.pitchHz * contour * (1 + 0.015 * Math.sin(2 * Math.PI * 5.5 * (n / SAMPLE_RATE)));
      phase += (2 * Math.PI * pitch) / SAMPLE_RATE;
      if (phase > 2 * Math.PI * 1000) phase -= 2 * Math.PI * 1000; // keep sin() arguments small

      let sample = 0;
      if (i >= consonant) {
        for (let k = 1; k <= maxHarmonics && k * pitch < BAND_TOP_HZ; k++) sample += (amplitudes[k] ?? 0) * Math.sin(k * phase);
        // Raised-cosine syllable envelope: speech loudness rises and falls ~4–8 times a second.
        const x = (i - consonant) / Math.max(1, syllable - consonant);
        sample *= 0.5 - 0.5 * Math.cos(2 * Math.PI * Math.min(1, x * 1.1));
      } else {
        const noise = random.next() - 0.5;
        sample = (noise - previousNoise) * 0.35 * fade(i, consonant, 20);
        previousNoise = noise;
      }
      out[n] = (out[n] ?? 0) + sample * 0.45 * stress * voice.gain;
    }
    at += syllable;
    // Occasional micro-pause between words.
    if (random.chance(0.2)) at += Math.round(random.float(0.04, 0.12) * SAMPLE_RATE);
  }
  return Math.min(at, out.length);
}

/** 0→1→0 ramp over `ramp` samples at both ends of a segment of `length`: no clicks. */
function fade(i: number, length: number, ramp: number): number {
  return Math.min(1, i / ramp, (length - 1 - i) / ramp);
}

/** Samples in [-1, 1] as 16-bit PCM behind a canonical 44-byte WAV header. */
function encodeWav(samples: Float32Array): Buffer {
  const dataBytes = samples.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(SAMPLE_RATE, 24);
  buf.writeUInt32LE((SAMPLE_RATE * BITS) / 8, 28); // byte rate
  buf.writeUInt16LE(BITS / 8, 32); // block align
  buf.writeUInt16LE(BITS, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) {
    const value = Math.round((samples[i] ?? 0) * 32767);
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, value)), 44 + i * 2);
  }
  return buf;
}
