/*
  heron's own YARA rules: patterns of malicious mail attachments and pages, written
  for the project. Each rule's meta gives a severity (low, medium, high) and a
  description that becomes the finding's summary.
*/

rule heron_html_smuggling
{
    meta:
        severity = "high"
        description = "HTML that assembles a file in the browser and saves it (HTML smuggling)"
    strings:
        $decode1 = "atob(" nocase
        $decode2 = "base64," nocase
        $decode3 = "Uint8Array" nocase
        $blob = "new Blob(" nocase
        $save1 = "createObjectURL" nocase
        $save2 = "msSaveOrOpenBlob" nocase
        $save3 = ".download" nocase
    condition:
        filesize < 20MB and any of ($decode*) and $blob and any of ($save*)
}

rule heron_telegram_exfiltration
{
    meta:
        severity = "high"
        description = "a page that sends what is typed into it to a Telegram bot"
    strings:
        $api = "api.telegram.org/bot" nocase
        $send = "sendMessage" nocase
    condition:
        filesize < 20MB and $api and $send
}

rule heron_obfuscated_script_redirect
{
    meta:
        severity = "medium"
        description = "script that decodes a hidden address and sends the browser there"
    strings:
        $decode1 = "atob(" nocase
        $decode2 = "unescape(" nocase
        $decode3 = "fromCharCode" nocase
        $go1 = "window.location" nocase
        $go2 = "location.href" nocase
        $go3 = "location.replace(" nocase
        $go4 = "document.location" nocase
    condition:
        filesize < 20MB and any of ($decode*) and any of ($go*)
}

rule heron_script_writes_decoded_page
{
    meta:
        severity = "medium"
        description = "script that writes a decoded page into itself, hiding its content"
    strings:
        $write = "document.write(" nocase
        $decode1 = "unescape(" nocase
        $decode2 = "atob(" nocase
        $decode3 = "decodeURIComponent(" nocase
    condition:
        filesize < 20MB and $write and any of ($decode*)
}

rule heron_encoded_powershell
{
    meta:
        severity = "high"
        description = "a PowerShell command hidden in encoded form"
    strings:
        $ps = "powershell" nocase
        $enc1 = /\s-e(nc|ncodedcommand)?\s+[A-Za-z0-9+\/=]{40,}/ nocase
        $enc2 = "FromBase64String" nocase
        $hidden = /-w(indowstyle)?\s+hidden/ nocase
    condition:
        filesize < 20MB and $ps and (any of ($enc*) or $hidden)
}

rule heron_windows_program_in_disguise
{
    meta:
        severity = "high"
        description = "a Windows program inside a file that does not admit to being one"
    strings:
        $dos = "This program cannot be run in DOS mode"
    condition:
        filesize < 50MB and $dos and uint16(0) != 0x5A4D
}

rule heron_script_downloader
{
    meta:
        severity = "high"
        description = "a script that downloads and runs a program"
    strings:
        $get1 = "MSXML2.XMLHTTP" nocase
        $get2 = "WinHttp.WinHttpRequest" nocase
        $get3 = "Invoke-WebRequest" nocase
        $get4 = "DownloadFile(" nocase
        $get5 = "DownloadString(" nocase
        $get6 = "URLDownloadToFile" nocase
        $run1 = "WScript.Shell" nocase
        $run2 = "Shell.Application" nocase
        $run3 = "Start-Process" nocase
        $run4 = /\bIEX[ (]/ nocase
        $run5 = "Invoke-Expression" nocase
    condition:
        filesize < 20MB and any of ($get*) and any of ($run*)
}
