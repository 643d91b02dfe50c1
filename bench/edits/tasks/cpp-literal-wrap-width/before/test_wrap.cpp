#include "wrap.cpp"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

static int failures = 0;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            std::cout << "FAIL line " << __LINE__ << ": " #cond "\n"; \
            ++failures;                                               \
        }                                                             \
    } while (0)

static std::string read_file(const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int main() {
    std::string text;
    for (int i = 0; i < 19; ++i) {
        text += (i ? " " : "") + std::string("aaaaa");
    }
    CHECK(kDefaultWidth == 100);
    CHECK(wrap(text).size() == 2);
    CHECK(wrap(text)[0].size() == 95);
    CHECK(wrap(text, 20)[0] == "aaaaa aaaaa aaaaa");
    if (failures == 0) {
        std::cout << "all checks passed\n";
    }
    return failures == 0 ? 0 : 1;
}
