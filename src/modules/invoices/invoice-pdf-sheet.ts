import type PDFDocument from "pdfkit";
import type { FontWeight, InvoiceFont } from "./invoice-pdf-font.js";
import { wrapText } from "./invoice-pdf-text.js";

type Doc = InstanceType<typeof PDFDocument>;

export type Align = "left" | "right";

export const GREY = "#5f6670";
export const INK = "#111418";
export const RULE = "#c9ced6";
export const STRIPE = "#f2f4f7";

/** A4 in points, with the margins every page keeps; the footer lives in the bottom margin. */
export const PAGE = { width: 595.28, height: 841.89, left: 48, right: 595.28 - 48, top: 48, bottom: 841.89 - 60 } as const;

/**
 * pdfkit's embedded font, as far as the sheet uses it. Not in pdfkit's typed API, but what its own text drawing
 * uses: `encode` adds a text's glyphs to the font's subset (and their code points to its ToUnicode map, which is
 * what makes the PDF's text extractable) and answers their ids; `subset`, `widths` and `unicode` are what
 * `encode` fills, which the sheet fills itself, a code point at a time, when they are there (see Face).
 */
interface EmbeddedFont {
  id: string;
  ascender: number;
  scale: number;
  encode(text: string): [string[], unknown];
  ref(): unknown;
  subset?: { includeGlyph(glyphId: number): number };
  widths?: number[];
  unicode?: number[][];
}

/**
 * One font of one document: its advance widths and glyph ids by code point, each looked up once. Encoding a
 * code point is what pdfkit's `encode` does for it (include the glyph in the subset, record its width and its
 * Unicode value); doing it once per code point rather than once per string is most of what makes a 10,000-line
 * invoice render in under a second. If pdfkit's font no longer has those members, strings go through its
 * `encode` (slower, same output).
 */
class Face {
  private readonly glyphs = new Map<number, { hex: string; advance: number }>();
  private readonly direct: boolean;

  constructor(
    readonly embedded: EmbeddedFont,
    private readonly font: InvoiceFont,
  ) {
    this.direct = typeof embedded.subset?.includeGlyph === "function" && Array.isArray(embedded.widths) && Array.isArray(embedded.unicode) && typeof embedded.scale === "number";
  }

  private glyph(cp: number): { hex: string; advance: number } {
    let entry = this.glyphs.get(cp);
    if (!entry) {
      const g = this.font.glyphForCodePoint(cp);
      let hex = "";
      if (this.direct) {
        const e = this.embedded;
        const gid = e.subset!.includeGlyph(g.id);
        e.widths![gid] ??= g.advanceWidth * e.scale;
        e.unicode![gid] ??= g.codePoints;
        hex = gid.toString(16).padStart(4, "0");
      }
      entry = { hex, advance: g.advanceWidth / this.font.unitsPerEm };
      this.glyphs.set(cp, entry);
    }
    return entry;
  }

  /** Width in units of the font size. `text` is NFC already. */
  measure(text: string): number {
    let w = 0;
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      w += this.glyph(cp).advance;
    }
    return w;
  }

  /** The glyph ids of `text` (NFC) as the hex string of a `Tj` operand. */
  hex(text: string): string {
    if (!this.direct) return this.embedded.encode(text)[0].join("");
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      out += this.glyph(cp).hex;
    }
    return out;
  }
}

/** Text as drawn: composed (NFC), so "S" + combining cedilla is the one glyph "Ş". ASCII is already. */
const nfc = (text: string): string => (/^[\x20-\x7e]*$/.test(text) ? text : text.normalize("NFC"));

/**
 * A painter over the document: where the next block goes (`y`, top-down from the page's top edge) and the few
 * primitives an invoice needs (text at a point, left- or right-aligned; wrapped text; rules; filled rectangles).
 *
 * Why not pdfkit's `text()`: for every string it writes eight operators, each its own small buffer, and saves and
 * restores the graphics state; a 10,000-line invoice has 70,000 cells, and that alone took over 2 s, mostly in
 * the garbage collector. The sheet collects a page's operators as one string and hands it to pdfkit once per
 * page (`flush`), with text measured from the font's advance widths (our plain layout: one glyph per code point).
 * pdfkit still does everything else: pages, font subsetting and embedding, compression, the file structure.
 */
export class Sheet {
  y: number = PAGE.top;
  /** Redraws what repeats at the top of a new page (the table header); set while a table runs. */
  onNewPage: (() => void) | null = null;
  /** Drawn first on every page, under the content (a draft's mark). */
  onPageStart: (() => void) | null = null;

  private ops: string[] = [];
  private used = new Set<EmbeddedFont>();
  private weight: FontWeight = "regular";
  private size = 9;
  private readonly faces: Record<FontWeight, Face>;

  constructor(
    readonly doc: Doc,
    fonts: Record<FontWeight, InvoiceFont>,
  ) {
    const face = (name: FontWeight): Face => {
      doc.registerFont(name, fonts[name] as unknown as Buffer);
      const font = (doc.font(name) as unknown as { _font?: EmbeddedFont })._font;
      if (!font || typeof font.encode !== "function" || typeof font.ref !== "function") throw new Error("pdfkit's embedded font API changed: the invoice PDF cannot draw text");
      return new Face(font, fonts[name]);
    };
    this.faces = { regular: face("regular"), bold: face("bold") };
  }

  font(weight: FontWeight, size: number): this {
    this.weight = weight;
    this.size = size;
    return this;
  }

  /** Width of `text` in points in the current font and size. */
  width(text: string): number {
    return this.faces[this.weight].measure(nfc(text)) * this.size;
  }

  /** One line with its top at y, starting at x or (right) ending at x; set smaller to fit `max` if it would overflow. */
  text(text: string, x: number, y: number, opts: { align?: Align; max?: number; color?: string } = {}): void {
    if (!text) return;
    const normal = nfc(text);
    const face = this.faces[this.weight];
    let size = this.size;
    let w = face.measure(normal) * size;
    if (opts.max !== undefined && w > opts.max) {
      size = (size * opts.max) / w;
      w = opts.max;
    }
    this.used.add(face.embedded);
    const left = opts.align === "right" ? x - w : x;
    const baseline = PAGE.height - y - (face.embedded.ascender / 1000) * size;
    this.ops.push(`BT ${rgb(opts.color ?? INK)} rg /${face.embedded.id} ${num(size)} Tf 1 0 0 1 ${num(left)} ${num(baseline)} Tm <${face.hex(normal)}> Tj ET`);
  }

  /** Text rotated by `degrees` (counter-clockwise) around its start (x, y), both in top-down page coordinates. */
  rotatedText(text: string, x: number, y: number, degrees: number, color: string): void {
    const face = this.faces[this.weight];
    this.used.add(face.embedded);
    const r = (degrees * Math.PI) / 180;
    const [c, s] = [Math.cos(r), Math.sin(r)];
    this.ops.push(`BT ${rgb(color)} rg /${face.embedded.id} ${num(this.size)} Tf ${num(c)} ${num(s)} ${num(-s)} ${num(c)} ${num(x)} ${num(PAGE.height - y)} Tm <${face.hex(nfc(text))}> Tj ET`);
  }

  /** Lines of `text` wrapped to `width`, one under the other from y; returns the y below the last. */
  paragraph(text: string, x: number, y: number, width: number, lineHeight: number, color?: string): number {
    for (const line of this.wrap(text, width)) {
      this.text(line, x, y, color ? { color } : {});
      y += lineHeight;
    }
    return y;
  }

  wrap(text: string, width: number): string[] {
    return wrapText(text, width, (s) => this.width(s));
  }

  rule(x1: number, x2: number, y: number, color = RULE, width = 0.6): void {
    const py = num(PAGE.height - y);
    this.ops.push(`${rgb(color)} RG ${num(width)} w ${num(x1)} ${py} m ${num(x2)} ${py} l S`);
  }

  fillRect(x: number, y: number, w: number, h: number, color: string): void {
    this.ops.push(`${rgb(color)} rg ${num(x)} ${num(PAGE.height - y - h)} ${num(w)} ${num(h)} re f`);
  }

  /** Room for `height` more points on this page, or a new page (which redraws what repeats). */
  ensure(height: number): void {
    if (this.y + height > PAGE.bottom) this.newPage();
  }

  /** Starts drawing on a new page (the first one included). */
  startPage(): void {
    this.y = PAGE.top;
    this.onPageStart?.();
  }

  newPage(): void {
    this.flush();
    this.doc.addPage();
    this.startPage();
    this.onNewPage?.();
  }

  /**
   * Hands the operators drawn so far to pdfkit, on its current page. pdfkit's pages draw top-down (it flips
   * the y axis when it opens a page); ours are written in PDF's own bottom-up space, hence the flip back.
   */
  flush(): void {
    if (!this.ops.length) return;
    const fonts = this.doc.page.fonts as Record<string, unknown>;
    for (const font of this.used) fonts[font.id] ??= font.ref();
    // As bytes: pdfkit would copy a string into its buffer a character at a time. The operators are ASCII.
    const content = Buffer.from(`q 1 0 0 -1 0 ${num(PAGE.height)} cm\n${this.ops.join("\n")}\nQ\n`, "latin1");
    this.doc.addContent(content as unknown as string);
    this.ops = [];
    this.used.clear();
  }
}

/** A coordinate or size for a content stream: at most 3 decimals, never in exponent notation. */
function num(n: number): string {
  const r = Math.round(n * 1000) / 1000;
  return Object.is(r, -0) ? "0" : String(r);
}

const rgbCache = new Map<string, string>();

/** "#5f6670" -> "0.373 0.4 0.439", the operands of `rg`/`RG`. */
function rgb(hex: string): string {
  let ops = rgbCache.get(hex);
  if (!ops) {
    ops = [1, 3, 5].map((i) => num(parseInt(hex.slice(i, i + 2), 16) / 255)).join(" ");
    rgbCache.set(hex, ops);
  }
  return ops;
}
