"""fcmgreet: a tiny package for fcm's deploy tests, installed by pip from a
package index served inside the test's network namespace."""

__version__ = "1.0"


def greet(name):
    return "Greetings from fcmgreet, %s!" % name
