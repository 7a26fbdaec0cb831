// Records every CSP violation the page sees, for the test to read (window.__cspViolations).
'use strict';
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile });
});
