// Records the page's Content Security Policy violations in window.cspViolations, from before the library
// loads (an external script: the strict CSP forbids inline ones). For engines without init scripts.
window.cspViolations = []
document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`))
