import QRCode from "qrcode";

/**
 * The activation code as a QR code, as SGP.22 4.1.3 asks (the code itself as the QR text; error correction
 * level M, enough for a printed or on-screen code and small enough for a 255-character matching id).
 * A 4-module quiet zone, as ISO/IEC 18004 requires for scanners.
 */
const OPTIONS = { errorCorrectionLevel: "M", margin: 4 } as const;

export function activationQrPng(activationCode: string): Promise<Buffer> {
  // 8 pixels per module: about 300 px square for a typical code, sharp on any phone camera.
  return QRCode.toBuffer(activationCode, { ...OPTIONS, type: "png", scale: 8 });
}

export function activationQrSvg(activationCode: string): Promise<string> {
  return QRCode.toString(activationCode, { ...OPTIONS, type: "svg", width: 300 });
}
