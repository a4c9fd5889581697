// Built against an installed uvdb by run.cmake: it proves that the installed
// headers, targets and dependencies are enough to compile, link and run.
#include <uvdb/uvdb.hpp>

#include <iostream>
#include <string>

int main() {
    uvdb::event_loop loop;

    const std::string masked{uvdb::mask_password("postgresql://u:secret@h/db")};
    std::cout << "masked URL: " << masked << '\n';
    if (masked.find("secret") != std::string::npos) {
        std::cerr << "the password is still in the masked URL\n";
        return 1;
    }
    if (masked.find("@h/db") == std::string::npos) {
        std::cerr << "masking lost the host and database\n";
        return 1;
    }
    return 0;
}
