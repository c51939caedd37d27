// The front-end build: writes static/app.js, naming the release directory it ran in and the user it ran as.
const fs = require("fs");
const path = require("path");
const os = require("os");
const release = path.basename(process.cwd());
fs.writeFileSync("static/app.js", `// built by npm run build in ${release} as ${os.userInfo().username}\n`);
