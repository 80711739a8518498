#!/usr/bin/env bash
# Re-create the vendored browser assets in this folder from the npm registry.
# Pinned versions; run from anywhere:  bash book/_static/vendor/regenerate.sh
# Needs: npm, tar. Touches nothing outside this folder (works in a temp dir).
set -euo pipefail

REQUIREJS=2.3.8
HTML_MANAGER=1.0.15   # @jupyter-widgets/html-manager 1.0.x <-> ipywidgets 8.1.x (@jupyter-widgets/controls 5.x)
FONTAWESOME=5.15.4    # the Font Awesome Free that html-manager 1.0.15 bundles (its licence only)
MATHJAX=3.2.2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

npm pack --silent "requirejs@${REQUIREJS}" "@jupyter-widgets/html-manager@${HTML_MANAGER}" \
    "@fortawesome/fontawesome-free@${FONTAWESOME}" "mathjax@${MATHJAX}" >/dev/null
for tgz in *.tgz; do mkdir -p "${tgz%.tgz}"; tar xzf "$tgz" -C "${tgz%.tgz}"; done

rm -rf "$here/requirejs" "$here/html-manager" "$here/mathjax"

# RequireJS: the AMD loader the widget manager's embed-amd.js needs.
mkdir -p "$here/requirejs"
cp "requirejs-${REQUIREJS}/package/require.js" "$here/requirejs/"
# The npm package ships no LICENSE file; require.js's header names MIT and this text.
cat > "$here/requirejs/LICENSE" <<'LICENSE_EOF'
MIT License

Copyright jQuery Foundation and other contributors, https://jquery.org/

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
LICENSE_EOF

# ipywidgets HTML manager: renders the widget state saved in notebook metadata.
# Its webpack public path is the folder of embed-amd.js, so the Font Awesome
# woff2 files must sit beside it (browsers that read woff2 never ask for the rest).
mkdir -p "$here/html-manager"
cp "jupyter-widgets-html-manager-${HTML_MANAGER}/package/dist/embed-amd.js" "$here/html-manager/"
cp jupyter-widgets-html-manager-${HTML_MANAGER}/package/dist/*.woff2 "$here/html-manager/"
cp "jupyter-widgets-html-manager-${HTML_MANAGER}/package/dist/embed.js.LICENSE.txt" \
    "$here/html-manager/THIRD-PARTY-NOTICES.txt"
# The npm package ships no LICENSE file; this is ipywidgets' (the same repository's) BSD-3-Clause text.
cat > "$here/html-manager/LICENSE" <<'LICENSE_EOF'
Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
LICENSE_EOF
cp "fortawesome-fontawesome-free-${FONTAWESOME}/package/LICENSE.txt" "$here/html-manager/LICENSE-fontawesome.txt"

# MathJax 3: the all-TeX-extensions CHTML component (no lazy extension loads) and its woff fonts.
mkdir -p "$here/mathjax/output/chtml/fonts"
cp "mathjax-${MATHJAX}/package/es5/tex-chtml-full.js" "$here/mathjax/"
cp -r "mathjax-${MATHJAX}/package/es5/output/chtml/fonts/woff-v2" "$here/mathjax/output/chtml/fonts/"
cp "mathjax-${MATHJAX}/package/LICENSE" "$here/mathjax/LICENSE"

echo "vendored into $here"
