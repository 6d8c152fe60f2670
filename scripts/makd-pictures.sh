#!/bin/bash
# The pictures in docs/makd.md: for the first six benchmark prompts of a subject (models/eval/prompts.json,
# seed 20 000 + i as `dekag bench makd` uses), one row each of the cloud's image, the edge's, and the edge's
# with the subject's shipped MAKD adapter (seed 1), 32 x 32 shown at 3 x.
#
#   scripts/makd-pictures.sh shape:star docs/img/makd-star.png
#   scripts/makd-pictures.sh shape:heart docs/img/makd-heart.png
set -euo pipefail
subject=${1:?usage: makd-pictures.sh SUBJECT OUT.png}
out=${2:?usage: makd-pictures.sh SUBJECT OUT.png}
cd "$(dirname "$0")/.."
adapter="models/adapters/$(echo "$subject" | tr ':' '-').makd.dkga"
[ -f "$adapter" ] || { echo "no MAKD adapter for $subject at $adapter" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t prompts < <(node -e '
  const doc = JSON.parse(require("fs").readFileSync("models/eval/prompts.json", "utf8"));
  const list = doc.subjects[process.argv[1]];
  if (!list) { console.error("no evaluation prompts for " + process.argv[1]); process.exit(2); }
  for (const p of list.slice(0, 6)) console.log(p);' "$subject")
for i in "${!prompts[@]}"; do
  seed=$((20000 + i))
  node bin/dekag.js generate --role cloud --prompt "${prompts[$i]}" --seed $seed --out "$work/cloud-$i.png" > /dev/null
  node bin/dekag.js generate --role edge --prompt "${prompts[$i]}" --seed $seed --out "$work/edge-$i.png" > /dev/null
  node bin/dekag.js generate --role edge --adapter "$adapter" --prompt "${prompts[$i]}" --seed $seed --out "$work/makd-$i.png" > /dev/null
done
/usr/bin/python3 - "$work" "$out" <<'EOF'
import sys
from PIL import Image
work, out = sys.argv[1], sys.argv[2]
scale, gap, cols = 3, 4, 6
tiles = [[Image.open(f"{work}/{row}-{i}.png").convert("RGB") for i in range(cols)] for row in ("cloud", "edge", "makd")]
w, h = tiles[0][0].size
sheet = Image.new("RGB", (cols * w * scale + (cols - 1) * gap, 3 * h * scale + 2 * gap), "white")
for r, row in enumerate(tiles):
    for c, tile in enumerate(row):
        sheet.paste(tile.resize((w * scale, h * scale), Image.NEAREST), (c * (w * scale + gap), r * (h * scale + gap)))
sheet.save(out)
print(out)
EOF
