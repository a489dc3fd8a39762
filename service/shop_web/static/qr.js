// The pickup code as a QR code, drawn in the browser (the code never leaves the page). The encoder is
// the one the service already vendors for the leader's client (qrcode-generator, MIT).
import qrcode from '/app/vendor/qrcode.js';

/** An element holding the QR code of `text` as SVG. The leader's scanner reads the bare code. */
export function qrElement(text, label) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const holder = document.createElement('div');
  holder.className = 'qr';
  holder.setAttribute('role', 'img');
  holder.setAttribute('aria-label', label);
  // The encoder's own SVG markup: numbers and paths only, no user text reaches it unescaped.
  holder.innerHTML = qr.createSvgTag({ cellSize: 6, margin: 2, scalable: true });
  return holder;
}
