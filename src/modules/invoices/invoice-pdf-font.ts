import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as fontkit from "fontkit";

/**
 * The typeface invoices are printed in: Noto Sans (SIL Open Font License), from the npm package
 * @expo-google-fonts/noto-sans, which ships Google Fonts' complete TTFs (Latin with all its extensions, Greek,
 * Cyrillic, Vietnamese). Why not the 14 standard PDF fonts: they encode WinAnsi only, so "Łódź", "Győr" or
 * "Şişli" on a customer's name would print wrong. pdfkit embeds only the glyphs a document uses (a subset of a
 * few kilobytes per font and document).
 *
 * Speed: pdfkit lays text out through fontkit's OpenType shaper (script detection, GSUB/GPOS lookups) for every
 * distinct word, and an invoice's words are mostly distinct numbers: for 10,000 lines that was over 5 s, most of
 * it shaping and its garbage. Invoices need no shaping (left-to-right text, no ligatures, no kerning required),
 * so each font gets a plain layout: text normalised to NFC (so "S" + combining cedilla prints as "Ş"), one glyph
 * per code point from the font's cmap, advances from its metrics. The fonts are parsed once per process and
 * shared by every document (fontkit objects are read-only once their tables are parsed).
 */
const FILES = {
  regular: "@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf",
  bold: "@expo-google-fonts/noto-sans/700Bold/NotoSans_700Bold.ttf",
} as const;

export type FontWeight = keyof typeof FILES;

/** A font as pdfkit takes it: fontkit's, with our layout. */
export type InvoiceFont = fontkit.Font;

let loaded: Record<FontWeight, InvoiceFont> | undefined;

export function invoiceFonts(): Record<FontWeight, InvoiceFont> {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const open = (file: string) => withPlainLayout(fontkit.create(readFileSync(require.resolve(file))) as fontkit.Font);
    loaded = { regular: open(FILES.regular), bold: open(FILES.bold) };
  }
  return loaded;
}

interface Position {
  xAdvance: number;
  yAdvance: number;
  xOffset: number;
  yOffset: number;
}

/** fontkit's GlyphRun, as far as pdfkit reads it: the width is summed from the positions pdfkit scales in place. */
class PlainRun {
  constructor(
    readonly glyphs: fontkit.Glyph[],
    readonly positions: Position[],
  ) {}

  get advanceWidth(): number {
    let w = 0;
    for (const p of this.positions) w += p.xAdvance;
    return w;
  }
}

function withPlainLayout(font: fontkit.Font): InvoiceFont {
  const glyphs = new Map<number, fontkit.Glyph>();
  const glyphFor = (cp: number): fontkit.Glyph => {
    let g = glyphs.get(cp);
    if (!g) {
      g = font.glyphForCodePoint(cp);
      glyphs.set(cp, g);
    }
    return g;
  };
  const layout = (text: string): PlainRun => {
    const run = new PlainRun([], []);
    for (const ch of text.normalize("NFC")) {
      const g = glyphFor(ch.codePointAt(0)!);
      run.glyphs.push(g);
      run.positions.push({ xAdvance: g.advanceWidth, yAdvance: 0, xOffset: 0, yOffset: 0 });
    }
    return run;
  };
  // Everything else (metrics, tables, subsetting) is the parsed font's own.
  return Object.create(font, { layout: { value: layout } }) as InvoiceFont;
}
